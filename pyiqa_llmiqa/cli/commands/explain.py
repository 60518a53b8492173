"""`pyiqa-llmiqa explain IMAGE -o OUT.png`: draw the regions, their scores and the fused score."""

import json
import sys

from pyiqa_llmiqa.cli.metric_args import add_metric_arguments, create_metric_from_args
from pyiqa_llmiqa.cli.output import record, write_leniently
from pyiqa_llmiqa.common.printable import printable_path


def add_parser(subparsers):
    parser = subparsers.add_parser('explain', help='draw what the metric saw in one image')
    parser.add_argument('image', help='an image file')
    parser.add_argument('-o', '--out', required=True, metavar='OUT.png', help='where to write the picture')
    parser.add_argument('--json', action='store_true', help='also print the scores as JSON')
    add_metric_arguments(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    from pyiqa_llmiqa.inputs.images import load_image
    from pyiqa_llmiqa.metric.explain import draw_assessment

    write_leniently(sys.stdout)
    image = load_image(args.image)  # a bad file fails before the models load
    args.opt = [*args.opt, 'return_masks=true']
    metric = create_metric_from_args(args)
    assessment = metric.net.assess([image])[0]
    path = draw_assessment(image, assessment, args.out)
    if args.json:
        print(json.dumps(record(args.image, assessment)))
    print(f'{printable_path(args.image)}\t{assessment.score:.4f}\t-> {printable_path(path)}')
    return 0
