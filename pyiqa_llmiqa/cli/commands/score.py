"""`pyiqa-llmiqa score PATH...`: score image files and folders, one line (or JSON object) each."""

import json
import sys

from pyiqa_llmiqa.cli.metric_args import add_metric_arguments, create_metric_from_args
from pyiqa_llmiqa.cli.output import failure, record
from pyiqa_llmiqa.common.notices import plural


def add_parser(subparsers):
    parser = subparsers.add_parser('score', help='score image files and folders')
    parser.add_argument('paths', nargs='+', help='image files or folders (searched recursively)')
    parser.add_argument('--json', action='store_true', help='one JSON object per image, with the regions')
    add_metric_arguments(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    from pyiqa_llmiqa.inputs.images import find_images, load_image

    paths = find_images(args.paths)
    if not paths:
        print(f'error: no image files in {" ".join(args.paths)}', file=sys.stderr)
        return 2
    metric = create_metric_from_args(args)
    failed = 0
    for path in paths:
        try:
            assessment = metric.net.assess([load_image(path)])[0]
        except Exception as error:  # one image's failure is reported; the others are still scored
            failed += 1
            print(f'error: {failure(path, error)}', file=sys.stderr)
            continue
        if args.json:
            print(json.dumps(record(path, assessment)), flush=True)
        else:
            print(f'{path}\t{assessment.score:.4f}', flush=True)
    if metric.net.fallback_count:
        answers = plural(metric.net.fallback_count, 'answer')
        were = 'was' if metric.net.fallback_count == 1 else 'were'
        print(f'note: {answers} {were} not a level and fell back to the likeliest level', file=sys.stderr)
    if failed:
        print(f'error: {failed} of {plural(len(paths), "image")} failed', file=sys.stderr)
        return 1
    return 0
