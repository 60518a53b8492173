"""pyiqa-llmiqa demo OUT: every step offline, on tiny random-weight models built once.

Scores the example images with their SAM2 regions (a picture of each), then benchmarks llmiqa_global
and pyiqa's PIQE on a small set it makes (the examples at increasing blur, labelled by the blur) and
writes the tables and report.html. The weights are random: every number means nothing about the
images; the files show what a real run writes and where.
"""

import json
import os
import sys
from pathlib import Path

from pyiqa_llmiqa.cli.output import record

RANDOM_NOTE = (
    'The models here have RANDOM weights (built offline, {cache}): the scores, regions and correlations '
    'show what the metric does and writes, and mean nothing about the images.'
)
# Random SAM2 weights find no mask at the paper's thresholds; these let its masks through.
DEMO_MASK_GENERATOR = {'pred_iou_thresh': 0.0, 'stability_score_thresh': 0.0, 'points_per_side': 4}
BENCH_METRICS = ('llmiqa_global', 'piqe')  # the whole image only, so the benchmark stays quick


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'demo', help='run everything offline on tiny random-weight models (about a minute)', description=__doc__
    )
    parser.add_argument('out', metavar='OUT', help='folder for the scores, pictures and benchmark report')
    parser.add_argument(
        '--images', metavar='DIR', help="pictures to score (default: the repository's examples/ folder)"
    )
    parser.add_argument('--device', help='torch device (default: the GPU when there is one, else the CPU)')
    parser.set_defaults(run=run)


def _example_pictures(folder) -> list:
    """The pictures of ``folder``, or of examples/ here or beside the package's source."""
    from pyiqa_llmiqa.errors import InputError
    from pyiqa_llmiqa.inputs.images import find_images

    candidates = [folder] if folder else ['examples', Path(__file__).resolve().parents[3] / 'examples']
    for candidate in candidates:
        if Path(candidate).is_dir():
            found = find_images([str(candidate)])
            if found:
                return [Path(p) for p in found]
    raise InputError(
        f'no pictures to score in {" or ".join(str(c) for c in candidates)}: run the demo in a clone of '
        'the repository (it has examples/), or pass --images DIR'
    )


def _score_examples(models, pictures, out: Path, device: str, cache: Path) -> None:
    import pyiqa

    from pyiqa_llmiqa.inputs.images import load_image
    from pyiqa_llmiqa.metric.explain import draw_assessment

    metric = pyiqa.create_metric(
        'llmiqa',
        backbone=str(models.backbone),
        segmenter=models.segmenter,
        mask_generator=DEMO_MASK_GENERATOR,
        mask_cache_dir=str(cache / 'masks'),
        return_masks=True,
        device=device,
    )
    (out / 'explain').mkdir(parents=True, exist_ok=True)
    with open(out / 'scores.jsonl', 'w', encoding='utf-8') as scores:
        for path in pictures:
            image = load_image(path)
            assessment = metric.net.assess([image])[0]
            scores.write(json.dumps(record(path, assessment)) + '\n')
            drawn = draw_assessment(image, assessment, out / 'explain' / f'{path.stem}.png')
            print(f'{path}\t{assessment.score:.4f}\t{len(assessment.regions)} regions -> {drawn}', flush=True)


def _bench(models, pictures, out: Path, device: str) -> None:
    from pyiqa_llmiqa.bench.datasets import load_datasets
    from pyiqa_llmiqa.bench.manifest import write_manifest
    from pyiqa_llmiqa.bench.metrics import metric_specs
    from pyiqa_llmiqa.bench.outputs import write_outputs
    from pyiqa_llmiqa.bench.processes import Processes
    from pyiqa_llmiqa.bench.report import markdown
    from pyiqa_llmiqa.bench.runner import run as score_all
    from pyiqa_llmiqa.testing.demo import blur_set

    originals = [p for p in pictures if '_' not in p.stem] or pictures  # coffee.jpg, chelsea.jpg
    datasets = load_datasets([str(blur_set(originals, out / 'blur_demo'))], None)
    specs = metric_specs(list(BENCH_METRICS), {'backbone': str(models.backbone)})
    write_manifest(specs, datasets, out / 'bench')
    score_all(specs, datasets, out / 'bench', Processes(), device)
    print(markdown(write_outputs(out / 'bench')))


def run(args) -> int:
    os.environ['HF_HUB_OFFLINE'] = '1'  # everything is local: never wait for the network
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar per tiny model loaded and saved says nothing here
    from pyiqa_llmiqa.common.devices import default_device
    from pyiqa_llmiqa.pyiqa_plugin import register
    from pyiqa_llmiqa.testing.demo import cache_dir, calibration_pictures, demo_models

    pictures = _example_pictures(args.images)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = cache_dir()
    note = RANDOM_NOTE.format(cache=cache)
    print(note, file=sys.stderr)
    if not (cache / 'qwen2_5_vl-levels').is_dir():
        print(f'building the tiny models once, into {cache} ...', file=sys.stderr)
    models = demo_models(cache, calibration_pictures(pictures))
    register()
    device = args.device or default_device()
    print(f'1. scoring {len(pictures)} pictures with their SAM2 regions (llmiqa):', file=sys.stderr)
    _score_examples(models, pictures, out, device, cache)
    print(
        f'2. benchmark: {", ".join(BENCH_METRICS)} on the pictures at increasing blur, labelled by the blur '
        '(5: sharp ... 1: most blurred; a made-up label, not human scores):',
        file=sys.stderr,
    )
    _bench(models, pictures, out, device)
    print(
        f'\nWhere to look:\n  {out / "explain"}/*.png  the regions and their scores, per picture\n'
        f'  {out / "scores.jsonl"}  the scores with every region (as score --json)\n'
        f'  {out / "bench" / "report.html"}  the benchmark report (tables: table.md, table.tex)\n{note}\n'
        'For real scores: pyiqa-llmiqa score examples/ (downloads the models once; on a CPU add '
        '--metric llmiqa_small)',
        file=sys.stderr,
    )
    return 0
