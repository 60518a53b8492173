"""Speed and memory of llmiqa beside the paper's plain method and a floor, on the same images.

    HF_HUB_OFFLINE=1 python benchmarks/speed.py --repeats 5 --out benchmarks/results/speed_cpu.json
    HF_HUB_OFFLINE=1 python benchmarks/speed.py --device cuda --out benchmarks/results/speed_cuda.json

Models are realistic in size and random in weights, built offline once into ``benchmarks/.cache/``
(ignored by git): a Qwen2.5-VL-architecture model (85.8M parameters, 32k-token byte-level BPE) whose
lm_head rows of the digits 1..K are enlarged so that greedy answers are levels, and SAM2.1 hiera-tiny.
Random SAM2 weights find about one mask per image (none with the paper's thresholds), so the scoring
paths get the same ``--regions`` given masks per image (ellipses; plus the complement).

Scoring, per image, the whole image and each region (greedy, K = 7, the ``word`` standard):
- naive: the paper's method written plainly, one ``generate(max_new_tokens=1)`` per crop;
- project: ``metric.net.assess([image])`` of ``pyiqa.create_metric('llmiqa', ...)``;
- floor: each crop's own tokens (vision and text after the shared prefix) with no cache, plus one
  forward of the shared prefix per image; the faster of one forward per crop and one left-padded
  batch of all crops.
Segmentation: sam2's stock generator and ``LeanMaskGenerator`` (what llmiqa runs) on the same SAM2,
with the paper's settings on each image and on the first one resized to 1024x768, and on that one
with lowered thresholds (``LOWERED``: every candidate reaches the full-resolution post-processing) and
fewer points (``FASTER``, with their mask IoU to the stock masks); masks are checked to be identical.
SAM2 sizes: ``LeanMaskGenerator`` with the paper's settings on the 1024x768 image for each SAM2.1
model (``SIZES``, random weights; llmiqa's default is large), seconds only: masks of different random
models say nothing about each other.
Timings are the best of ``--repeats`` interleaved runs.
"""

import argparse
import ctypes
import json
import os
import platform
import re
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / 'benchmarks' / '.cache'
LEVELS = 7
# Random SAM2 weights pass none of the paper's filters; these let its candidates through.
LOWERED = {'pred_iou_thresh': 0.0, 'stability_score_thresh': 0.0}
FASTER = {
    'points_per_side=6': {'points_per_side': 6},
    'points_per_side=4': {'points_per_side': 4},
    'autocast_dtype=bfloat16': {'autocast_dtype': 'bfloat16'},
}
SIZES = {'tiny': 'sam2.1_hiera_t', 'small': 'sam2.1_hiera_s', 'base+': 'sam2.1_hiera_b+', 'large': 'sam2.1_hiera_l'}


def build_models():
    """The cached backbone folder and SAM2 checkpoint, built offline on first use."""
    from pyiqa_llmiqa.testing.tiny_models import build_realistic_qwen2_5_vl

    backbone = CACHE / f'qwen2_5_vl_realistic_digits{LEVELS}'
    if not (backbone / 'config.json').is_file():
        from transformers import AutoModelForImageTextToText, AutoProcessor

        build_realistic_qwen2_5_vl(backbone)
        processor = AutoProcessor.from_pretrained(backbone)
        model = AutoModelForImageTextToText.from_pretrained(backbone)
        ids = [processor.tokenizer.convert_tokens_to_ids(str(k)) for k in range(1, LEVELS + 1)]
        with torch.no_grad():  # digit logits dominate, so greedy answers are levels
            weight = model.get_output_embeddings().weight
            weight[ids] = torch.randn(len(ids), weight.shape[1], generator=torch.Generator().manual_seed(0))
        model.save_pretrained(backbone)
    return backbone, sam2_checkpoint(SIZES['tiny'])


def sam2_checkpoint(config):
    """The cached random-weight checkpoint of one SAM2 config, built on first use."""
    from pyiqa_llmiqa.testing.sam2_checkpoints import save_random_sam2_checkpoint

    checkpoint = CACHE / f'{config}_random.pt'
    if not checkpoint.is_file():
        save_random_sam2_checkpoint(checkpoint, config)
    return checkpoint


def given_masks(height, width, count):
    """``count`` deterministic elliptic masks of decreasing size."""
    shapes = [
        (0.30, 0.35, 0.22, 0.25),
        (0.72, 0.30, 0.18, 0.20),
        (0.25, 0.80, 0.15, 0.12),
        (0.62, 0.75, 0.12, 0.15),
        (0.88, 0.80, 0.08, 0.10),
        (0.50, 0.08, 0.10, 0.06),
        (0.90, 0.10, 0.06, 0.06),
        (0.10, 0.10, 0.05, 0.05),
    ]
    masks = []
    for cx, cy, rx, ry in (shapes * (count // len(shapes) + 1))[:count]:
        canvas = Image.new('1', (width, height))
        ImageDraw.Draw(canvas).ellipse(
            [(cx - rx) * width, (cy - ry) * height, (cx + rx) * width, (cy + ry) * height], fill=1
        )
        masks.append(np.asarray(canvas, dtype=bool))
    return masks


class Meter:
    """Seconds and peak memory above the block's start: RSS on the CPU, the CUDA allocator on a GPU."""

    def __init__(self, device):
        self.cuda = device.startswith('cuda')

    def __enter__(self):
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            _LIBC.malloc_trim(0)  # freed heap memory back to the system: RSS is then the live set
            try:
                Path('/proc/self/clear_refs').write_text('5')  # resets VmHWM (Linux)
            except OSError:
                pass  # then the peak is the process's, an upper bound
            self.base = _proc_status('VmRSS')
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        if self.cuda:
            torch.cuda.synchronize()
        self.seconds = time.perf_counter() - self.start
        peak = torch.cuda.max_memory_allocated() if self.cuda else _proc_status('VmHWM')
        self.peak_bytes = max(0, peak - self.base)


_LIBC = ctypes.CDLL(None)


def _proc_status(field):
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith(field + ':'):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f'{field} not in /proc/self/status')


class ForwardCounter:
    """Counts forward calls of the language model and of the vision encoder."""

    def __init__(self, model):
        self.counts = {'lm': 0, 'vision': 0}
        for key, module in (('lm', model.model.language_model), ('vision', model.model.visual)):
            module.register_forward_hook(lambda *args, key=key: self.counts.__setitem__(key, self.counts[key] + 1))

    def take(self):
        counts, self.counts = dict(self.counts), {key: 0 for key in self.counts}
        return counts


def _to_model(inputs, model):
    return {
        key: value.to(model.device, model.dtype if torch.is_floating_point(value) else None)
        for key, value in inputs.items()
    }


def naive_scores(model, processor, crops, standard):
    """The paper's method, plainly: for each crop a chat input, ``generate`` one token, parse the integer."""
    scores = []
    for crop in crops:
        messages = [
            {'role': 'system', 'content': [{'type': 'text', 'text': standard.system_prompt}]},
            {'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': standard.question}]},
        ]
        text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = _to_model(processor(text=[text], images=[crop], return_tensors='pt'), model)
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=1, do_sample=False)
        answer = processor.tokenizer.decode(output[0, inputs['input_ids'].shape[1] :], skip_special_tokens=True)
        match = re.search(r'\d+', answer)
        scores.append(float(match.group()) if match else None)
    return scores


def floor_forwards(model, processor, crops, prompt, batch_size):
    """One forward of the shared prompt prefix, then each crop's own tokens (after the prefix)."""
    start_id = model.config.vision_start_token_id
    pad_id = processor.tokenizer.pad_token_id
    suffixes = []
    for crop in crops:
        inputs = processor(text=[prompt], images=[crop], return_tensors='pt')
        ids = inputs['input_ids'][0]
        cut = int((ids == start_id).nonzero()[0])
        suffixes.append((ids[cut:], inputs['pixel_values'], inputs['image_grid_thw']))
    prefix = ids[:cut][None].to(model.device)
    with torch.inference_mode():
        model(input_ids=prefix, use_cache=True, logits_to_keep=1)
        for first in range(0, len(suffixes), batch_size):
            batch = suffixes[first : first + batch_size]
            length = max(len(ids) for ids, _, _ in batch)
            input_ids = torch.full((len(batch), length), pad_id, dtype=torch.long)
            mask = torch.zeros_like(input_ids)
            for row, (ids, _, _) in enumerate(batch):  # left padding
                input_ids[row, length - len(ids) :] = ids
                mask[row, length - len(ids) :] = 1
            inputs = _to_model(
                {
                    'input_ids': input_ids,
                    'attention_mask': mask,
                    'pixel_values': torch.cat([b[1] for b in batch]),
                    'image_grid_thw': torch.cat([b[2] for b in batch]),
                },
                model,
            )
            model(**inputs, use_cache=False, logits_to_keep=1)


def batch_activation_bytes(model, processor, crops, prompt, batch_size, device):
    """Peak memory of one plain forward over the ``batch_size`` largest crops: the largest batch."""
    largest = sorted(crops, key=lambda c: c.width * c.height)[-batch_size:]
    inputs = _to_model(
        processor(text=[prompt] * len(largest), images=[[c] for c in largest], return_tensors='pt', padding=True), model
    )
    with torch.inference_mode(), Meter(device) as meter:
        model(**inputs, use_cache=False, logits_to_keep=1)
    return meter.peak_bytes


def bench_scoring(args, backbone, images, report):
    import pyiqa

    import pyiqa_llmiqa  # noqa: F401
    from pyiqa_llmiqa.engines.batching import batch_size_for
    from pyiqa_llmiqa.engines.transformers_engine import render_prompt
    from pyiqa_llmiqa.segment.regions import crop, select_regions

    current = {}
    options = {'batch_size': args.batch_size} if args.batch_size else {}
    metric = pyiqa.create_metric(
        'llmiqa',
        backbone=str(backbone),
        device=args.device,
        dtype=args.dtype,
        score_mode='greedy',
        levels=LEVELS,
        segmenter=lambda image: current['masks'],
        **options,
    )
    net = metric.net
    model, processor = net.engine.model, net.engine.processor
    prompt = render_prompt(processor, net.standard.system_prompt, net.standard.question)
    counter = ForwardCounter(model)
    weights = sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))
    report['backbone'] = {
        'path': str(backbone),
        'parameters': sum(p.numel() for p in model.parameters()),
        'weight_bytes': weights,
        'dtype': str(model.dtype),
        'batch_size': batch_size_for(net.engine.device, net.options.batch_size),
    }
    identical = True
    for index, (name, image) in enumerate(images):
        current['masks'] = given_masks(image.height, image.width, args.regions)
        regions = select_regions(current['masks'], net.options.min_region_area, net.options.complement)
        crops = [image] + [crop(image, region) for region in regions]
        paths = {
            'naive': partial(naive_scores, model, processor, crops, net.standard),
            'project': partial(_project_scores, net, image),
            'floor_single': partial(floor_forwards, model, processor, crops, prompt, 1),
            'floor_batched': partial(floor_forwards, model, processor, crops, prompt, len(crops)),
        }
        if index == 0:  # warm-up: first-call costs (kernel selection, lazy inits) are not measured
            for run in paths.values():
                run()
            counter.take()
        row = {'image': name, 'size': list(image.size), 'regions': len(regions), 'crops': len(crops)}
        for _ in range(args.repeats):
            for path, run in paths.items():
                with Meter(args.device) as meter:
                    scores = run()
                entry = row.setdefault(path, {'seconds': [], 'variant': path})
                entry['seconds'].append(meter.seconds)
                entry.update(forwards=counter.take(), peak_bytes=meter.peak_bytes)
                if scores is not None:
                    entry['scores'] = scores
        for path in paths:
            row[path]['best_seconds'] = min(row[path]['seconds'])
        variants = {path: row.pop(path) for path in ('floor_single', 'floor_batched')}
        row['floor'] = min(variants.values(), key=lambda entry: entry['best_seconds'])
        row['floor_variants'] = {path: entry['best_seconds'] for path, entry in variants.items()}
        row['identical_greedy_scores'] = row['naive']['scores'] == row['project']['scores']
        identical &= row['identical_greedy_scores']
        row['activation_bytes'] = batch_activation_bytes(
            model,
            processor,
            crops,
            prompt,
            min(batch_size_for(net.engine.device, net.options.batch_size), len(crops)),
            args.device,
        )
        counter.take()  # that forward is no path's
        row['naive_over_project'] = row['naive']['best_seconds'] / row['project']['best_seconds']
        row['project_over_floor'] = row['project']['best_seconds'] / row['floor']['best_seconds']
        row['project_peak_over_weights_plus_activations'] = (weights + row['project']['peak_bytes']) / (
            weights + row['activation_bytes']
        )
        report['images'].append(row)
        print(
            f'scored {name}: naive {row["naive"]["best_seconds"]:.2f} s, project '
            f'{row["project"]["best_seconds"]:.2f} s, floor {row["floor"]["best_seconds"]:.2f} s '
            f'({row["floor"]["variant"]})',
            flush=True,
        )
    report['identical_greedy_scores'] = identical


def _project_scores(net, image):
    assessment = net.assess([image])[0]
    if assessment.fallbacks:
        raise RuntimeError(f'{assessment.fallbacks} greedy answers were not levels: enlarge the digit rows')
    return [assessment.global_score] + [region.score for region in assessment.regions]


def bench_sam2(args, checkpoint, images, report):
    from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator

    from pyiqa_llmiqa.config.options import mask_generator_settings
    from pyiqa_llmiqa.segment.lean_mask_generator import LeanMaskGenerator
    from pyiqa_llmiqa.segment.segmenter import SAM2Segmenter

    model = SAM2Segmenter({'config': 'sam2.1_hiera_t', 'checkpoint': str(checkpoint)}).to(args.device).model
    encoder = {'seconds': 0.0}

    def clock(*_, done=False):  # a forward (pre-)hook; returns None, so it changes nothing
        if args.device.startswith('cuda'):
            torch.cuda.synchronize()
        if done:
            encoder['seconds'] += time.perf_counter() - encoder['start']
        else:
            encoder['start'] = time.perf_counter()

    model.image_encoder.register_forward_pre_hook(clock)
    model.image_encoder.register_forward_hook(partial(clock, done=True))

    def run(generator, image):
        encoder['seconds'] = 0.0
        with torch.inference_mode(), Meter(args.device) as meter:
            records = generator.generate(np.asarray(image))
        masks = [r['segmentation'] if isinstance(r['segmentation'], np.ndarray) else None for r in records]
        return masks, {
            'seconds': meter.seconds,
            'encoder_seconds': encoder['seconds'],
            'peak_bytes': meter.peak_bytes,
            'masks': len(masks),
        }

    first_name, first = images[0]
    resized = (f'{first_name}@1024x768', first.resize((1024, 768), Image.BICUBIC))
    run(LeanMaskGenerator(model, **mask_generator_settings(LOWERED)), first)  # warm-up
    cases = [(name, image, 'paper', {}) for name, image in images + [resized]]
    cases.append((*resized, 'lowered', LOWERED))
    for name, image, label, overrides in cases:
        settings = {**mask_generator_settings(overrides), 'output_mode': 'binary_mask'}
        timings = {'stock': [], 'lean': []}
        for _ in range(args.repeats):  # interleaved, the faster run of each counts
            stock_masks, stock = run(SAM2AutomaticMaskGenerator(model, **settings), image)
            lean_masks, lean = run(LeanMaskGenerator(model, **settings), image)
            timings['stock'].append(stock)
            timings['lean'].append(lean)
        stock, lean = (min(timings[key], key=lambda t: t['seconds']) for key in ('stock', 'lean'))
        same = len(stock_masks) == len(lean_masks) and all(map(np.array_equal, stock_masks, lean_masks))
        row = {
            'image': name,
            'size': list(image.size),
            'settings': label,
            'overrides': overrides,
            'stock': stock,
            'lean': lean,
            'identical_masks': same,
            'stock_over_lean': stock['seconds'] / lean['seconds'],
        }
        if label == 'lowered':
            row['faster_settings'] = {
                key: _faster(run, LeanMaskGenerator(model, **{**settings, **extra}), image, stock_masks)
                for key, extra in FASTER.items()
            }
        report['sam2'].append(row)
        print(
            f'segmented {name} ({label}): stock {stock["seconds"]:.2f} s, lean {lean["seconds"]:.2f} s, '
            f'identical masks: {same}',
            flush=True,
        )
    for size, config in SIZES.items():
        sized = SAM2Segmenter({'config': config, 'checkpoint': str(sam2_checkpoint(config))}).to(args.device).model
        generator = LeanMaskGenerator(sized, **mask_generator_settings({}))
        generator.generate(np.asarray(resized[1]))  # warm-up
        timings = []
        for _ in range(args.repeats):
            with torch.inference_mode(), Meter(args.device) as meter:
                generator.generate(np.asarray(resized[1]))
            timings.append(meter.seconds)
        report['sam2_sizes'].append(
            {
                'size': size,
                'config': config,
                'image': resized[0],
                'seconds': min(timings),
                'parameters': sum(p.numel() for p in sized.parameters()),
            }
        )
        print(f'segmented {resized[0]} with SAM2.1 {size}: {min(timings):.2f} s', flush=True)
        del sized, generator


def _faster(run, generator, image, reference):
    masks, timing = run(generator, image)
    return {**timing, 'mean_best_iou_to_stock': mask_set_iou(reference, masks)}


def mask_set_iou(reference, masks):
    """Mean over the reference masks of the best IoU with any of ``masks`` (1.0 when both are empty)."""
    if not reference:
        return 1.0 if not masks else 0.0
    best = [max([(r & m).sum() / max((r | m).sum(), 1) for m in masks] or [0.0]) for r in reference]
    return float(np.mean(best))


def print_tables(report):
    mb = 1 / 2**20
    print(
        f'\nScoring ({report["machine"]["device"]}; backbone {report["backbone"]["parameters"] / 1e6:.1f}M '
        f'parameters, {report["backbone"]["weight_bytes"] * mb:.0f} MB weights; best of {report["repeats"]})'
    )
    segment = {row['image']: row['lean']['seconds'] for row in report['sam2'] if row['settings'] == 'paper'}
    print(
        f'{"image":<22}{"seg s":>6}{"crops":>6}{"naive s":>9}{"proj s":>8}{"floor s":>9}{"n/p":>6}{"p/f":>6}'
        f'{"LM fwd n/p/f":>14}{"peak MB n/p/f":>17}{"act MB":>8}{"p/(w+a)":>9}'
    )
    for row in report['images']:
        fwd = '/'.join(str(row[p]['forwards']['lm']) for p in ('naive', 'project', 'floor'))
        peak = '/'.join(f'{row[p]["peak_bytes"] * mb:.0f}' for p in ('naive', 'project', 'floor'))
        seconds = '-' if row['image'] not in segment else f'{segment[row["image"]]:.1f}'
        print(
            f'{row["image"]:<22}{seconds:>6}{row["crops"]:>6}{row["naive"]["best_seconds"]:>9.2f}'
            f'{row["project"]["best_seconds"]:>8.2f}{row["floor"]["best_seconds"]:>9.2f}'
            f'{row["naive_over_project"]:>6.2f}{row["project_over_floor"]:>6.2f}{fwd:>14}{peak:>17}'
            f'{row["activation_bytes"] * mb:>8.0f}{row["project_peak_over_weights_plus_activations"]:>9.2f}'
        )
    print(f'greedy scores identical (naive vs project): {report["identical_greedy_scores"]}')
    print('\nSegmentation (SAM2.1 hiera-t, random weights; seconds, encoder seconds in brackets)')
    print(
        f'{"image":<26}{"settings":>9}{"masks":>6}{"stock s":>14}{"lean s":>14}{"ratio":>7}'
        f'{"peak MB s/l":>13}{"identical":>10}'
    )
    for row in report['sam2']:
        stock, lean = row['stock'], row['lean']
        print(
            f'{row["image"]:<26}{row["settings"]:>9}{stock["masks"]:>6}'
            f'{stock["seconds"]:>8.2f} ({stock["encoder_seconds"]:.1f}){lean["seconds"]:>8.2f} '
            f'({lean["encoder_seconds"]:.1f}){row["stock_over_lean"]:>7.2f}'
            f'{stock["peak_bytes"] * mb:>7.0f}/{lean["peak_bytes"] * mb:<5.0f}{row["identical_masks"]!s:>10}'
        )
        for key, faster in row.get('faster_settings', {}).items():
            print(
                f'  {key}: {faster["seconds"]:.2f} s, {faster["masks"]} masks, '
                f'mean best IoU to stock {faster["mean_best_iou_to_stock"]:.3f}'
            )
    if report['sam2_sizes']:
        large = {row['size']: row['seconds'] for row in report['sam2_sizes']}['large']
        print(f'\nSAM2.1 sizes (lean generator, paper settings, {report["sam2_sizes"][0]["image"]}; random weights)')
        for row in report['sam2_sizes']:
            print(
                f'  {row["size"]:<6}{row["parameters"] / 1e6:>7.1f}M parameters {row["seconds"]:>7.2f} s'
                f'  large / this {large / row["seconds"]:.2f}'
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', type=Path, required=True, help='JSON file for all numbers')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--dtype', help='backbone dtype (default: float32 on the CPU, bfloat16 on a GPU)')
    parser.add_argument(
        '--images',
        nargs='+',
        type=Path,
        default=[ROOT / 'examples' / n for n in ('coffee.jpg', 'chelsea.jpg', 'chelsea_noise.jpg')],
    )
    parser.add_argument('--batch-size', type=int, help="llmiqa's batch_size (default: the preset's)")
    parser.add_argument('--regions', type=int, default=6, help='given masks per image (plus the complement)')
    parser.add_argument('--repeats', type=int, default=2, help='timed runs of each path and generator; the best counts')
    parser.add_argument('--skip-sam2', action='store_true')
    args = parser.parse_args(argv)
    args.dtype = args.dtype or ('float32' if args.device == 'cpu' else 'bfloat16')
    warnings.simplefilter('ignore', FutureWarning)
    for message in ("cannot import name '_C'", 'The given NumPy array is not writable'):
        warnings.filterwarnings('ignore', message=message)
    CACHE.mkdir(parents=True, exist_ok=True)
    backbone, checkpoint = build_models()
    images = [(path.name, Image.open(path).convert('RGB')) for path in args.images]
    report = {
        'command': ' '.join([Path(sys.argv[0]).name] + (argv if argv is not None else sys.argv[1:])),
        'machine': {
            'device': torch.cuda.get_device_name()
            if args.device.startswith('cuda')
            else f'CPU, {torch.get_num_threads()} threads ({os.cpu_count()} cores)',
            'platform': platform.platform(),
            'torch': torch.__version__,
        },
        'dtype': args.dtype,
        'repeats': args.repeats,
        'levels': LEVELS,
        'images': [],
        'sam2': [],
        'sam2_sizes': [],
    }
    bench_scoring(args, backbone, images, report)
    if not args.skip_sam2:
        bench_sam2(args, checkpoint, images, report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print_tables(report)
    print(f'\nwrote {args.out}')
    if not report['identical_greedy_scores'] or not all(row['identical_masks'] for row in report['sam2']):
        sys.exit('FAILED: naive and project greedy scores, or stock and lean masks, differ')


if __name__ == '__main__':
    main()
