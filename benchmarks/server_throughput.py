"""Images per second through engine openai at 1, 4 and 16 requests in flight, against `transformers serve`
on this machine, with and without --continuous-batching; the scores must not depend on either.

    python benchmarks/server_throughput.py [--model FOLDER] [--images 32]

Without --model it builds the test suite's tiny Qwen2.5-VL (random weights, digits boosted as in
tests/conftest.py's digit_backbone) in a temporary folder. Whole images only (llmiqa_global): the
server's part, not SAM2's.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from pyiqa_llmiqa.metric.llmiqa_arch import LLMIQA  # noqa: E402
from pyiqa_llmiqa.testing.local_server import local_server  # noqa: E402

IN_FLIGHT = (1, 4, 16)


def digit_model(folder: Path) -> str:
    """The suite's tiny Qwen2.5-VL whose answers are digits (tests/conftest.py, _boost_level_rows)."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from pyiqa_llmiqa.testing.tiny_models import build_tiny_model

    built = build_tiny_model('qwen2_5_vl', folder / 'tiny')
    processor = AutoProcessor.from_pretrained(built)
    model = AutoModelForImageTextToText.from_pretrained(built)
    ids = [processor.tokenizer.encode(str(k), add_special_tokens=False)[0] for k in range(1, 10)]
    with torch.no_grad():
        weight = model.get_output_embeddings().weight
        weight[ids] = torch.randn(len(ids), weight.shape[1], generator=torch.Generator().manual_seed(1)) * 3.0
    model.save_pretrained(folder / 'digits')
    processor.save_pretrained(folder / 'digits')
    return str(folder / 'digits')


def test_images(n: int):
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (96 + 8 * (i % 5), 128, 3), dtype=np.uint8)) for i in range(n)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', help='a local model folder (default: the tiny test model)')
    parser.add_argument('--images', type=int, default=32)
    args = parser.parse_args()
    images = test_images(args.images)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or digit_model(Path(tmp))
        rows, scores = [], {}
        for batching in ('--no-continuous-batching', '--continuous-batching'):
            with local_server(model, [batching]) as url:
                for in_flight in IN_FLIGHT:
                    metric = LLMIQA(
                        backbone=model, mix_grained=False, engine='openai', server_url=url, requests_in_flight=in_flight
                    )
                    metric.engine.answer(images[:2])  # warm up
                    start = time.perf_counter()
                    scores[batching, in_flight] = [a.score for a in metric.assess(images)]
                    rows.append((batching, in_flight, len(images) / (time.perf_counter() - start)))
    base = rows[0][2]
    print('| server | requests in flight | images/s | ratio to 1 in flight, no continuous batching |')
    print('|---|---|---|---|')
    for batching, in_flight, rate in rows:
        print(f'| transformers serve {batching} | {in_flight} | {rate:.2f} | {rate / base:.2f} |')
    same = len({tuple(s) for s in scores.values()}) == 1
    print(f'\nsame scores in every run: {same}')
    return 0 if same else 1


if __name__ == '__main__':
    sys.exit(main())
