"""What SmolVLM's published processor settings cost on a CPU: image tokens, wall and CPU seconds.

SmolVLM-256M-Instruct's processor resizes the longest side of every image (crops too) to 2048
pixels and cuts it into 512-pixel tiles plus the whole image, 64 tokens each. This prints, for a
full-size SmolVLM-256M with random weights (same compute as the real one) and its real files, one
``llmiqa_global`` forward with those settings and with ``do_image_splitting: False``::

    python -m pyiqa_llmiqa.testing.real_config_models smolvlm /tmp/smol-full --full-size --files DIR
    python benchmarks/smolvlm_tiles.py /tmp/smol-full [--size 1024x768] [--threads 2]
"""

import argparse
import resource
import time

import numpy as np
import pyiqa
import torch
from PIL import Image

import pyiqa_llmiqa  # noqa: F401


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('backbone', help='a SmolVLM folder (full size for meaningful figures)')
    parser.add_argument('--size', default='1024x768', help='WIDTHxHEIGHT of the test image')
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    width, height = map(int, args.size.split('x'))
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8))
    for processor_kwargs in ({}, {'do_image_splitting': False}):
        net = pyiqa.create_metric(
            'llmiqa_global', backbone=args.backbone, device='cpu', processor_kwargs=processor_kwargs
        ).net
        image_token = net.engine.model.config.image_token_id
        tokens = int((net.engine.encode([image], net.engine.prompt)['input_ids'] == image_token).sum())
        cpu, wall = _cpu_seconds(), time.perf_counter()
        net([image])
        wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
        print(
            f'processor_kwargs={processor_kwargs}: {tokens} image tokens; one forward of a '
            f'{width}x{height} image: {wall:.1f} s wall, {cpu:.1f} s CPU ({args.threads} threads)'
        )


if __name__ == '__main__':
    main()
