"""Peak memory and seconds per forward of the default backbone at its real size on the CPU (issue 23).

The model is Qwen2.5-VL-7B-Instruct's published config and processor files (``LLMIQA_MODEL_FILES``, see
docs/backbone-files.md) with random bfloat16 weights at the real depth and widths, built once into
``benchmarks/.cache/``; ``llmiqa_global`` then scores one 1024x768 image through ``pyiqa.create_metric``
in a fresh process, as a user's run would, and that process's peak RSS is read from the kernel.

    LLMIQA_MODEL_FILES=../shared/model_files HF_HUB_OFFLINE=1 python benchmarks/full_size_cpu.py --repeats 2

``--shrunk`` runs the same path on the shrunk test config (seconds; checks the script).
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / 'benchmarks' / '.cache'


def build(folder: Path, shrunk: bool) -> None:
    """The model folder: the real files and random bfloat16 weights (full size unless ``shrunk``)."""
    import torch

    from pyiqa_llmiqa.testing.real_config_models import build_real_config_model

    if (folder / 'model.safetensors.index.json').exists() or (folder / 'model.safetensors').exists():
        return
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)  # 8.3B parameters in float32 would need 33 GB
    try:
        build_real_config_model('qwen2_5_vl', folder, digit_answers=True, full_size=not shrunk)
    finally:
        torch.set_default_dtype(previous)


def score(folder: str, repeats: int) -> dict:
    """In this (fresh) process: build the metric, score one 1024x768 image ``repeats`` times."""
    import pyiqa
    from PIL import Image

    import pyiqa_llmiqa  # noqa: F401

    start = time.perf_counter()
    metric = pyiqa.create_metric('llmiqa_global', backbone=folder, device='cpu', dtype='bfloat16')
    load_s = time.perf_counter() - start
    image = Image.open(ROOT / 'examples' / 'coffee.jpg').convert('RGB').resize((1024, 768))
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        assessment = metric.net.assess([image])[0]
        seconds.append(time.perf_counter() - start)
    parameters = sum(p.numel() for p in metric.net.engine.model.parameters())
    return {
        'parameters': parameters,
        'load_s': load_s,
        'forward_s': seconds,
        'score': assessment.score,
        'peak_rss_gb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--shrunk', action='store_true', help='the shrunk test config: checks the script')
    parser.add_argument('--build-only', metavar='FOLDER', help=argparse.SUPPRESS)
    parser.add_argument('--score-only', metavar='FOLDER', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build_only:
        build(Path(args.build_only), args.shrunk)
        return 0
    if args.score_only:
        print(json.dumps(score(args.score_only, args.repeats)))
        return 0
    folder = CACHE / ('qwen2_5_vl_shrunk' if args.shrunk else 'qwen2_5_vl_7b_full')
    start = time.perf_counter()
    # each step in its own process, so that the builder's 16.6 GB are gone before the metric loads
    subprocess.run(
        [sys.executable, __file__, '--build-only', str(folder), *(['--shrunk'] if args.shrunk else [])], check=True
    )
    print(f'model folder {folder} ready in {time.perf_counter() - start:.0f} s', file=sys.stderr)
    command = [sys.executable, __file__, '--score-only', str(folder), '--repeats', str(args.repeats)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    with open('/proc/loadavg') as handle:
        result['loadavg'] = handle.read().split()[:3]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
