"""What ``score --out`` adds per image to scoring alone: the results store (a flushed JSON line per
image), the progress bar, the file check, on the same images and the same tiny model.

    HF_HUB_OFFLINE=1 python benchmarks/score_overhead.py --images 1000 --repeats 3

Scoring alone is a loop of ``load_image`` and ``metric.net.assess``; with the store it is
``bench.collection.score_collection`` (what ``score --out`` runs, one process) over the same files,
its bar drawn to stderr. The two alternate ``--repeats`` times over the same images; the fastest
pass of each is kept, as the machine is shared. The store's own cost is also timed alone with a
scorer that does nothing, which the model's noise cannot hide.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyiqa
import torch
from PIL import Image

from pyiqa_llmiqa.bench.collection import collection_store, score_collection
from pyiqa_llmiqa.bench.processes import Processes
from pyiqa_llmiqa.inputs.images import load_image
from pyiqa_llmiqa.pyiqa_plugin import register
from pyiqa_llmiqa.testing.tiny_models import build_tiny_model


def _with_store(paths, out: Path, score) -> float:
    store = collection_store(out)
    start = time.perf_counter()
    score_collection(paths, store, {'metric': 'llmiqa_global', 'key': 'k'}, Processes(), lambda: score)
    return time.perf_counter() - start


def _alone(paths, score) -> float:
    start = time.perf_counter()
    for path in paths:
        score(load_image(path))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=1000)
    parser.add_argument('--size', type=int, default=64, help='side of the square test images')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    register()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        rng = np.random.default_rng(0)
        paths = []
        for i in range(args.images):
            paths.append(folder / f'{i:05d}.png')
            Image.fromarray(rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)).save(paths[-1])
        model = build_tiny_model('qwen2_5_vl', folder / 'model')
        metric = pyiqa.create_metric('llmiqa_global', backbone=str(model), device='cpu')

        def score(image):
            return metric.net.assess([image])[0].to_dict()

        alone, stored = [], []
        for repeat in range(args.repeats):
            alone.append(_alone(paths, score))
            stored.append(_with_store(paths, folder / f'run{repeat}.jsonl', score))
        nothing = [_with_store(paths, folder / f'noop{r}.jsonl', lambda image: {'score': 1.0}) for r in range(3)]
        loads = [_alone(paths, lambda image: None) for _ in range(3)]
    n = args.images
    per_alone, per_stored = min(alone) / n, min(stored) / n
    store_only = (min(nothing) - min(loads)) / n
    print(
        f'{n} images of {args.size}x{args.size}, tiny qwen2_5_vl, llmiqa_global, CPU, {args.threads} thread(s)\n'
        f'scoring alone: {1e3 * per_alone:.2f} ms/image (passes: {", ".join(f"{t:.1f}" for t in alone)} s)\n'
        f'with the store and bar: {1e3 * per_stored:.2f} ms/image (passes: {", ".join(f"{t:.1f}" for t in stored)} s)'
        f'\ndifference of the fastest passes: {100 * (per_stored - per_alone) / per_alone:+.2f}%\n'
        f'store, bar and file check alone (a scorer that does nothing): {1e6 * store_only:.0f} us/image = '
        f'{100 * store_only / per_alone:.2f}% of scoring alone',
        file=sys.stdout,
    )


if __name__ == '__main__':
    main()
