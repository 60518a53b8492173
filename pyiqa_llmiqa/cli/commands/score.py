"""pyiqa-llmiqa score PATH...: score image files and folders, one line (or JSON object) each.

With --out FILE.jsonl, one record per image goes to FILE as it is scored (the fields of --json, or
the error of a failed image); rerunning the same command scores only what FILE lacks, and a summary
ends the run. For several processes: torchrun --nproc_per_node N -m pyiqa_llmiqa.cli.main score ...
"""

import argparse
import json
import sys

from pyiqa_llmiqa.cli.metric_args import add_metric_arguments, create_metric_from_args
from pyiqa_llmiqa.cli.output import failure, record, write_leniently
from pyiqa_llmiqa.common.notices import plural
from pyiqa_llmiqa.common.printable import printable_path
from pyiqa_llmiqa.errors import ImageLoadError


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'score',
        help='score image files and folders',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument('paths', nargs='+', help='image files or folders (searched recursively)')
    parser.add_argument('--json', action='store_true', help='one JSON object per image, with the regions')
    parser.add_argument(
        '--out',
        metavar='FILE.jsonl',
        help='write one record per image to FILE as it is scored; a rerun scores only what FILE lacks',
    )
    parser.add_argument(
        '--retry-failed', action='store_true', help='with --out: score again the images that failed before'
    )
    add_metric_arguments(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    from pyiqa_llmiqa.inputs.images import check_file, find_images

    write_leniently(sys.stdout)
    skipped = []
    paths = find_images(args.paths, skipped)
    if skipped:
        print(
            f'note: skipped {len(skipped)} folder entries with an image extension that are not regular files '
            f'(FIFOs, devices, broken or looping symbolic links), such as {printable_path(skipped[0])}',
            file=sys.stderr,
        )
    if not paths:
        print(f'error: no image files in {" ".join(map(printable_path, args.paths))}', file=sys.stderr)
        return 2
    if args.out:
        from pyiqa_llmiqa.cli.collection import score_into

        return score_into(paths, args)
    failed = 0
    readable = []
    for path in paths:  # paths that cannot be images fail before the model loads
        try:
            check_file(path)
            readable.append(path)
        except ImageLoadError as error:
            failed += 1
            print(f'error: {error}', file=sys.stderr)
    if readable:
        failed += _score(readable, create_metric_from_args(args), args.json)
    if failed:
        print(f'error: {failed} of {plural(len(paths), "image")} failed', file=sys.stderr)
        return 1
    return 0


def _score(paths, metric, as_json: bool) -> int:
    """Print the score of each of ``paths``, or why it has none; returns how many failed."""
    from pyiqa_llmiqa.inputs.images import load_image

    failed = 0
    for path in paths:
        try:
            assessment = metric.net.assess([load_image(path)])[0]
        except Exception as error:  # one image's failure is reported; the others are still scored
            failed += 1
            print(f'error: {failure(path, error)}', file=sys.stderr)
            continue
        if as_json:
            print(json.dumps(record(path, assessment)), flush=True)
        else:
            print(f'{printable_path(path)}\t{assessment.score:.4f}', flush=True)
    if metric.net.fallback_count:
        answers = plural(metric.net.fallback_count, 'answer')
        were = 'was' if metric.net.fallback_count == 1 else 'were'
        print(f'note: {answers} {were} not a level and fell back to the likeliest level', file=sys.stderr)
    return failed
