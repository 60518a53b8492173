"""``score --out``: the command-line side of scoring a collection into a results file (bench/collection.py)."""

import os
import sys


def score_into(paths, args) -> int:
    """Score ``paths`` into ``args.out`` over this run's processes; print the summary on the main one."""
    from pyiqa_llmiqa.bench import processes as procs
    from pyiqa_llmiqa.bench.collection import collection_store, locked, score_collection
    from pyiqa_llmiqa.bench.collection_summary import summary
    from pyiqa_llmiqa.bench.metrics import metric_spec
    from pyiqa_llmiqa.cli.metric_args import create_metric_from_args, options_from_args
    from pyiqa_llmiqa.common.printable import printable_path
    from pyiqa_llmiqa.config.presets import resolved_options

    store = collection_store(args.out)
    resolved_options(args.metric, **options_from_args(args))  # a bad preset or option fails first
    spec = metric_spec(args.metric, options_from_args(args))
    # the folder: where the report finds the images that were named relative to it
    description = {'metric': spec.name, 'options': spec.options, 'key': spec.key({}), 'folder': os.getcwd()}
    if spec.served:  # engine openai: the model the server reports
        description['served'] = spec.served
    processes = procs.start()
    metric = None

    def build():
        nonlocal metric
        args.device = processes.device(args.device)
        metric = create_metric_from_args(args)
        return lambda image: metric.net.assess([image])[0].to_dict()

    try:
        if processes.is_main:
            with locked(store):
                records = score_collection(paths, store, description, processes, build, args.retry_failed)
        else:
            score_collection(paths, store, description, processes, build, args.retry_failed)
            return 0
    finally:
        procs.stop(processes)
    if metric is not None and metric.net.fallback_count:
        print(
            f'note: {metric.net.fallback_count} answers were not a level and fell back to the likeliest level',
            file=sys.stderr,
        )
    print(summary(records.values()))
    failed = sum('error' in r for r in records.values())
    if failed:
        print(
            f'error: {failed} of {len(records)} images failed; the reasons are in the "error" field of '
            f'{printable_path(args.out)} (--retry-failed scores them again)',
            file=sys.stderr,
        )
        return 1
    return 0
