"""Speed and memory of llmiqa beside the paper's plain method and a floor, on the same images.

    HF_HUB_OFFLINE=1 python benchmarks/speed.py --images examples/coffee.jpg --regions 6 20 40 70 \
        --threads 1 --clock cpu --skip-sam2 --out benchmarks/results/speed_cpu_regions_coffee.json
    python benchmarks/speed.py --plot docs/speed_regions_cpu.png --from-json benchmarks/results/speed_cpu_regions_*.json
    HF_HUB_OFFLINE=1 python benchmarks/speed.py --device cuda --out benchmarks/results/speed_cuda.json

Models are realistic in size and random in weights, built offline once into ``benchmarks/.cache/``
(ignored by git): a Qwen2.5-VL-architecture model (85.8M parameters, 32k-token byte-level BPE) whose
lm_head rows of the digits 1..K are enlarged so that greedy answers are levels, and SAM2.1 hiera-tiny.
Random SAM2 weights find about one mask per image (none with the paper's thresholds), so the scoring
paths get the same ``--regions`` given masks per image (``given_masks``: ellipses of sizes like real
masks', many small and a few large; plus the complement), one row per image and count.

Scoring, per image, the whole image and each region (greedy, K = 7, the ``word`` standard):
- naive: the paper's method written plainly, one ``generate(max_new_tokens=1)`` per crop;
- project_B: ``metric.net.assess([image])`` of ``pyiqa.create_metric('llmiqa', ...)`` with
  ``batch_size`` B (``default``: the device's default);
- floor_B (``Floor``, written apart from llmiqa): the shared prefix computed once, then each crop
  through the processor and, sorted by token count, padded batches of B crops after the prefix; the
  floor of a run is its cheapest floor_B, and every project path is compared with it, run by run.
All paths must give naive's greedy answer for every crop (the benchmark fails otherwise).
Segmentation: sam2's stock generator and ``LeanMaskGenerator`` (what llmiqa runs) on the same SAM2,
with the paper's settings on each image and on the first one resized to 1024x768, and on that one
with lowered thresholds (``LOWERED``: every candidate reaches the full-resolution post-processing) and
fewer points (``FASTER``, with their mask IoU to the stock masks); masks are checked to be identical.
SAM2 sizes: ``LeanMaskGenerator`` with the paper's settings on the 1024x768 image for each SAM2.1
model (``SIZES``, random weights; llmiqa's default is large), seconds only: masks of different random
models say nothing about each other.
Timings are the best of ``--repeats`` interleaved runs (each run starting one path later than the
one before); ``--clock cpu`` compares the CPU time of this process instead of wall time.
"""

import argparse
import ctypes
import json
import math
import os
import platform
import re
import sys
import time
import warnings
from functools import partial
from pathlib import Path
from statistics import NormalDist

import numpy as np
import torch
from PIL import Image, ImageDraw
from transformers import DynamicCache

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / 'benchmarks' / '.cache'
LEVELS = 7
# Given masks: relative size sqrt(area / image area) log-normal, most masks small, a few large.
SIZE_MEDIAN, SIZE_SIGMA = 0.1, 0.9
AREA_RANGE = (0.002, 0.5)  # fractions of the image; llmiqa drops masks under 0.001
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
    """``count`` deterministic elliptic masks with sizes like real masks': many small, a few large.

    The relative size sqrt(mask area / image area) is log-normal (median ``SIZE_MEDIAN``, log-sd
    ``SIZE_SIGMA``), read at the evenly spaced quantiles (i + 0.5) / count and clipped to areas in
    [``AREA_RANGE``]; aspect ratios and centres are drawn from a generator seeded by ``count``.
    """
    rng = np.random.default_rng(count)
    normal = NormalDist()
    masks = []
    for i in range(count):
        size = SIZE_MEDIAN * math.exp(SIZE_SIGMA * normal.inv_cdf((i + 0.5) / count))
        area = min(max(size * size, AREA_RANGE[0]), AREA_RANGE[1])
        ratio = math.exp(rng.uniform(-0.7, 0.7))  # ry / rx, in fractions of the height and width
        rx = min(math.sqrt(area / (math.pi * ratio)), 0.5)
        ry = min(area / (math.pi * rx), 0.5)
        cx, cy = rng.uniform(rx, 1 - rx), rng.uniform(ry, 1 - ry)
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
        self.start, self.cpu_start = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        if self.cuda:
            torch.cuda.synchronize()
        self.seconds = time.perf_counter() - self.start
        self.cpu_seconds = time.process_time() - self.cpu_start  # all threads of this process
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


class Floor:
    """The cheapest scoring of the same crops with the same greedy answers, written apart from llmiqa.

    The shared prefix (the text before the image) is computed once, as llmiqa computes it once per
    prompt; a run is each crop through the processor alone (its suffix tokens and their 3D positions
    from the model's own ``get_rope_index`` on the unpadded prompt), then ``batches``: left-padded
    suffixes after the prefix's keys and values, one forward each.
    """

    def __init__(self, model, processor, prompt):
        self.model, self.processor, self.prompt = model, processor, prompt
        self.prefix = None

    def encode(self, crop):
        """One crop's suffix ids and positions after the shared prefix, and its image inputs."""
        inputs = self.processor(text=[self.prompt], images=[crop], return_tensors='pt')
        ids = inputs['input_ids'][0]
        cut = int((ids == self.model.config.vision_start_token_id).nonzero()[0])
        positions = self.model.model.get_rope_index(
            inputs['input_ids'], inputs['mm_token_type_ids'], image_grid_thw=inputs['image_grid_thw']
        )[0]
        if self.prefix is None:
            with torch.inference_mode():
                output = self.model(
                    input_ids=ids[None, :cut].to(self.model.device),
                    position_ids=positions[:, :, :cut].to(self.model.device),
                    use_cache=True,
                    logits_to_keep=1,
                )
            self.prefix = [(k, v) for k, v, *_ in output['cache']]
        return {
            'ids': ids[cut:],
            'positions': positions[:, 0, cut:],
            'pixel_values': inputs['pixel_values'],
            'image_grid_thw': inputs['image_grid_thw'],
            'mm_token_type_ids': inputs['mm_token_type_ids'][0, cut:],
        }

    def scores(self, crops, batches):
        """Greedy answers (the argmax token's integer, as naive reads it) with ``batches(items)``
        giving the batches as lists of indices."""
        items = [self.encode(crop) for crop in crops]
        scores = [None] * len(crops)
        with torch.inference_mode():
            for batch in batches(items):
                for index, token in zip(batch, self.forward([items[i] for i in batch]).tolist()):
                    match = re.search(r'\d+', self.processor.tokenizer.decode([token]))
                    scores[index] = float(match.group()) if match else None
        return scores

    def forward(self, batch):
        """The argmax next token of each row of one left-padded batch after the prefix."""
        prefix = self.prefix
        prefix_length = prefix[0][0].shape[2]
        length = max(len(item['ids']) for item in batch)
        ids = torch.full((len(batch), length), self.processor.tokenizer.pad_token_id, dtype=torch.long)
        types = torch.zeros_like(ids)
        positions = torch.ones((3, len(batch), length), dtype=torch.long)
        mask = torch.zeros((len(batch), prefix_length + length), dtype=torch.long)
        mask[:, :prefix_length] = 1
        for row, item in enumerate(batch):
            n = len(item['ids'])
            ids[row, length - n :] = item['ids']
            types[row, length - n :] = item['mm_token_type_ids']
            positions[:, row, length - n :] = item['positions']
            mask[row, prefix_length + length - n :] = 1
        cache = DynamicCache(
            ddp_cache_data=[
                (k.expand(len(batch), -1, -1, -1), v.expand(len(batch), -1, -1, -1)) for k, v in self.prefix
            ]
        )
        inputs = _to_model(
            {
                'input_ids': ids,
                'attention_mask': mask,
                'position_ids': positions,
                'mm_token_type_ids': types,
                'pixel_values': torch.cat([item['pixel_values'] for item in batch]),
                'image_grid_thw': torch.cat([item['image_grid_thw'] for item in batch]),
            },
            self.model,
        )
        output = self.model(**inputs, cache=cache, use_cache=True, logits_to_keep=1)
        return output.logits[:, -1].argmax(dim=-1)


def fixed_batches(size, items):
    """Batches of ``size`` crops in order of their token count (the least padding for that size)."""
    order = sorted(range(len(items)), key=lambda i: len(items[i]['ids']))
    return [order[first : first + size] for first in range(0, len(order), size)]


def bench_scoring(args, backbone, images, report):
    import pyiqa

    import pyiqa_llmiqa  # noqa: F401
    from pyiqa_llmiqa.engines.transformers_engine import render_prompt
    from pyiqa_llmiqa.segment.regions import crop, select_regions

    current = {}
    metric = pyiqa.create_metric(
        'llmiqa',
        backbone=str(backbone),
        device=args.device,
        dtype=args.dtype,
        score_mode='greedy',
        levels=LEVELS,
        segmenter=lambda image: current['masks'],
    )
    net = metric.net
    model, processor = net.engine.model, net.engine.processor
    prompt = render_prompt(processor, net.standard.system_prompt, net.standard.question)
    floor = Floor(model, processor, prompt)
    counter = ForwardCounter(model)
    weights = sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))
    report['backbone'] = {
        'path': str(backbone),
        'parameters': sum(p.numel() for p in model.parameters()),
        'weight_bytes': weights,
        'dtype': str(model.dtype),
    }
    identical = True
    for index, ((name, image), count) in enumerate((i, n) for i in images for n in args.regions):
        current['masks'] = given_masks(image.height, image.width, count)
        regions = select_regions(current['masks'], net.options.min_region_area, net.options.complement)
        crops = [image] + [crop(image, region) for region in regions]
        paths = {'naive': partial(naive_scores, model, processor, crops, net.standard)}
        for size in args.batch_sizes:  # None: llmiqa's default for the device
            paths[f'project_{size or "default"}'] = partial(_project_scores, net, image, size)
        for size in args.floor_batch_sizes:
            paths[f'floor_{size}'] = partial(floor.scores, crops, partial(fixed_batches, size))
        if index == 0:  # warm-up: first-call costs (kernel selection, lazy inits) are not measured
            for run in paths.values():
                run()
            counter.take()
        row = {
            'image': name,
            'size': list(image.size),
            'masks': count,
            'regions': len(regions),
            'crops': len(crops),
            'crop_pixels': [c.width * c.height for c in crops],
            'crop_tokens': [len(floor.encode(c)['ids']) for c in crops],
            'paths': {},
        }
        names = list(paths)
        for repeat in range(args.repeats):  # interleaved, each repeat starting one path later
            for path in names[repeat % len(names) :] + names[: repeat % len(names)]:
                if path == 'naive' and repeat >= args.naive_repeats:
                    continue
                with Meter(args.device) as meter:
                    scores = paths[path]()
                entry = row['paths'].setdefault(path, {key: [None] * args.repeats for key in ('wall', 'cpu')})
                entry['wall'][repeat], entry['cpu'][repeat] = meter.seconds, meter.cpu_seconds
                entry.update(forwards=counter.take(), peak_bytes=meter.peak_bytes, scores=scores)
        summarize(row, args.clock)
        identical &= row['identical_greedy_scores']
        report['images'].append(row)
        print(
            f'scored {name} with {count} masks ({len(crops)} crops): '
            + ', '.join(f'{path} {entry["best_seconds"]:.2f}' for path, entry in row['paths'].items())
            + f' s; floor {row["floor"]["best_seconds"]:.2f} s; identical answers: {row["identical_greedy_scores"]}',
            flush=True,
        )
    report['identical_greedy_scores'] = identical


def summarize(row, clock):
    """Best seconds (``clock``: wall or cpu) of each path; the floor of each repeat (its cheapest
    variant) and each project path's ratio to it in the same repeat; whether every path gave
    naive's greedy answers."""
    paths = row['paths']
    for entry in paths.values():
        entry['seconds'] = entry[clock]
        entry['best_seconds'] = min(s for s in entry['seconds'] if s is not None)
    repeats = len(paths['naive']['seconds'])
    floors = [min(paths[p]['seconds'][r] for p in paths if p.startswith('floor_')) for r in range(repeats)]
    row['floor'] = {
        'seconds': floors,
        'best_seconds': min(floors),
        'variant': min((p for p in paths if p.startswith('floor_')), key=lambda p: paths[p]['best_seconds']),
    }
    for path, entry in paths.items():
        if path.startswith('project_'):
            ratios = [s / f for s, f in zip(entry['seconds'], floors)]
            entry['over_floor'] = {'best': entry['best_seconds'] / min(floors), 'per_repeat': ratios}
    reference = paths['naive']['scores']
    row['different_answers'] = [p for p, entry in paths.items() if entry['scores'] != reference]
    row['identical_greedy_scores'] = not row['different_answers']
    for entry in paths.values():
        entry.pop('scores')
    row['scores'] = reference


def _project_scores(net, image, batch_size):
    net.engine.batch_size = batch_size  # what the batch_size option sets (engines/registry.py)
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
        f'parameters, {report["backbone"]["weight_bytes"] * mb:.0f} MB weights; best of {report["repeats"]} '
        'interleaved runs; project / floor: of the best runs [lowest-highest of the runs])'
    )
    for row in report['images']:
        paths = row['paths']
        print(
            f'{row["image"]} {row["masks"]} masks, {row["crops"]} crops ({sum(row["crop_tokens"])} tokens after the '
            f'prefix): naive {paths["naive"]["best_seconds"]:.2f} s, floor {row["floor"]["best_seconds"]:.2f} s '
            f'({row["floor"]["variant"]}), answers identical: {row["identical_greedy_scores"]}'
        )
        for path, entry in paths.items():
            line = f'  {path:<16}{entry["best_seconds"]:>8.2f} s{entry["forwards"]["lm"]:>5} LM forwards'
            line += f'{entry["peak_bytes"] * mb:>7.0f} MB peak'
            if 'over_floor' in entry:
                ratios = [r for r in entry['over_floor']['per_repeat'] if r is not None]
                line += f'  / floor {entry["over_floor"]["best"]:.2f} [{min(ratios):.2f}-{max(ratios):.2f}]'
            print(line)
    print(f'greedy answers identical (naive, project, floor): {report["identical_greedy_scores"]}')


def plot(report, path):
    """Seconds per image against the region count: one panel per image, a line per path."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(row['image'] for row in report['images']))
    figure, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 4.2), squeeze=False)
    for axis, name in zip(axes[0], names):
        rows = [row for row in report['images'] if row['image'] == name]
        counts = [row['masks'] for row in rows]
        for key in rows[0]['paths']:
            if key.startswith('floor_'):
                continue
            style = '-o' if key in ('naive', 'project_default') else '--.'
            axis.plot(counts, [row['paths'][key]['best_seconds'] for row in rows], style, label=key)
        axis.plot(counts, [row['floor']['best_seconds'] for row in rows], 'k-s', label='floor')
        axis.set(title=name, xlabel='regions (given masks)', ylabel=f'{report["clock"]} seconds per image')
        axis.set_xticks(counts)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(f'{report["machine"]["device"]}, best of {report["repeats"]} interleaved runs', fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def print_sam2_tables(report):
    mb = 1 / 2**20
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


def _batch_size(text):
    return None if text == 'default' else int(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', type=Path, help='JSON file for all numbers')
    parser.add_argument(
        '--from-json', nargs='+', type=Path, help='measure nothing: draw --plot from these JSON files of earlier runs'
    )
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--dtype', help='backbone dtype (default: float32 on the CPU, bfloat16 on a GPU)')
    parser.add_argument(
        '--images',
        nargs='+',
        type=Path,
        default=[ROOT / 'examples' / n for n in ('coffee.jpg', 'chelsea.jpg', 'chelsea_noise.jpg')],
    )
    parser.add_argument(
        '--batch-sizes',
        nargs='+',
        type=_batch_size,
        default=[None, 1, 4, 8],
        help="llmiqa's batch_size for each project path; 'default' for the device's default",
    )
    parser.add_argument(
        '--floor-batch-sizes',
        nargs='+',
        type=int,
        default=[1, 2, 4, 8, 16],
        help="the floor's batch sizes; the cheapest counts",
    )
    parser.add_argument(
        '--regions', type=int, nargs='+', default=[6, 20, 40, 70], help='given masks per image (plus the complement)'
    )
    parser.add_argument('--repeats', type=int, default=3, help='timed runs of each path and generator; the best counts')
    parser.add_argument('--naive-repeats', type=int, default=1, help='timed runs of the naive path (it is the slowest)')
    parser.add_argument(
        '--clock',
        choices=('wall', 'cpu'),
        default='wall',
        help='the seconds compared: wall clock, or CPU time of this process (all its threads; steadier on a '
        'busy machine with --threads 1)',
    )
    parser.add_argument('--threads', type=int, help="torch's CPU threads (default: torch's)")
    parser.add_argument('--plot', type=Path, help='PNG of the seconds per image against the region count')
    parser.add_argument('--skip-sam2', action='store_true')
    args = parser.parse_args(argv)
    if args.from_json:
        if args.plot is None:
            parser.error('--from-json needs --plot')
        reports = [json.loads(path.read_text()) for path in args.from_json]
        plot({**reports[0], 'images': [row for report in reports for row in report['images']]}, args.plot)
        return
    if args.out is None:
        parser.error('--out is required unless --from-json is given')
    if args.threads:
        torch.set_num_threads(args.threads)
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
        'load_average_start': Path('/proc/loadavg').read_text().split()[:3],
        'dtype': args.dtype,
        'repeats': args.repeats,
        'clock': args.clock,
        'levels': LEVELS,
        'images': [],
        'sam2': [],
        'sam2_sizes': [],
    }
    bench_scoring(args, backbone, images, report)
    if not args.skip_sam2:
        bench_sam2(args, checkpoint, images, report)
    report['load_average_end'] = Path('/proc/loadavg').read_text().split()[:3]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print_tables(report)
    if report['sam2']:
        print_sam2_tables(report)
    if args.plot:
        plot(report, args.plot)
        print(f'wrote {args.plot}')
    print(f'\nwrote {args.out}')
    if not report['identical_greedy_scores'] or not all(row['identical_masks'] for row in report['sam2']):
        sys.exit('FAILED: the greedy answers of naive, project and floor, or stock and lean masks, differ')


if __name__ == '__main__':
    main()
