"""bench: score data sets with llmiqa and pyiqa metrics and correlate the scores with MOS.

Writes, under --out: benchmark_results.csv (pyiqa's layout), correlations.csv (every figure, the
fitted PLCC, counts), table.md and table.tex (the paper's layout), report.html (one page to read what
the metrics got wrong), predictions/DATASET/METRIC-KEY.jsonl (one record per image), run.json (what
was scored, for pyiqa-llmiqa report DIR), a scatter plot per metric and data set, and ceiling.png.
Rerunning the same command finishes what is missing.
For several processes: torchrun --nproc_per_node N -m pyiqa_llmiqa.cli.main bench ...
"""

import argparse
import sys
from pathlib import Path

from pyiqa_llmiqa.cli.metric_args import add_option_arguments, options_from_args
from pyiqa_llmiqa.cli.report_args import add_table_arguments, build_from_args
from pyiqa_llmiqa.common.notices import plural


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'bench',
        help='benchmark metrics against human scores (SRCC/PLCC/KRCC)',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        '--dataset',
        nargs='+',
        required=True,
        metavar='NAME_OR_YAML',
        help='pyiqa data set names (koniq10k, spaq, livec, kadid10k, ...) or dataset options YAMLs',
    )
    parser.add_argument(
        '--metrics',
        nargs='+',
        required=True,
        metavar='NAME',
        help='llmiqa presets and pyiqa NR metrics (piqe, niqe, musiq, ...)',
    )
    parser.add_argument('--out', required=True, metavar='DIR', help='folder for the results')
    parser.add_argument(
        '--data-root',
        metavar='DIR',
        help='folder that stands for ./datasets in the dataset options (pyiqa: ./datasets)',
    )
    parser.add_argument(
        '--download',
        action='store_true',
        help="fetch missing pyiqa data sets (images and meta-info files) with pyiqa's load_dataset "
        'into --data-root first',
    )
    parser.add_argument('--retry-failed', action='store_true', help='score again the images that failed before')
    add_table_arguments(parser)
    add_option_arguments(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    from pyiqa_llmiqa.bench import processes as procs
    from pyiqa_llmiqa.bench.datasets import load_datasets
    from pyiqa_llmiqa.bench.manifest import write_manifest
    from pyiqa_llmiqa.bench.metrics import metric_specs
    from pyiqa_llmiqa.bench.report import markdown
    from pyiqa_llmiqa.bench.runner import run as score_all
    from pyiqa_llmiqa.config.presets import preset_names, resolved_options
    from pyiqa_llmiqa.metric.preflight import before_loading

    overrides = options_from_args(args)
    for name in dict.fromkeys(args.metrics):  # first, before pyiqa loads and any data set is read
        if name in preset_names():
            before_loading(resolved_options(name, **overrides), args.device)
    specs = metric_specs(args.metrics, overrides)
    datasets = load_datasets(args.dataset, args.data_root, download=args.download)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    processes = procs.start()
    try:
        if processes.is_main:  # first, so that `report DIR` can show what a stopped run finished
            write_manifest(specs, datasets, out)
        score_all(specs, datasets, out, processes, args.device, args.retry_failed)
        if not processes.is_main:
            return 0
        rows = build_from_args(args, out)
    finally:
        procs.stop(processes)
    print(markdown(rows))
    failed = sum(r.failed for r in rows)
    if failed:
        print(
            f'{plural(failed, "image")} failed; their reasons are in the "error" field of the JSON lines under '
            f'{out / "predictions"} (--retry-failed scores them again)',
            file=sys.stderr,
        )
    print(f'results in {out} (table.md, table.tex, report.html)', file=sys.stderr)
    return 0
