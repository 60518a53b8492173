"""SAM2's automatic mask generator with less work per point prompt and the same masks.

``LeanMaskGenerator`` subclasses sam2's ``SAM2AutomaticMaskGenerator`` and replaces the steps after
the image encoder:

- in the mask decoder's first two-way attention layer the image side is the same for every prompt,
  so its projections are computed once per image instead of once per prompt, and the image
  embedding is never copied per prompt (``keys + pe`` is also formed once per layer, not twice);
- a prompt's mask embedding is upscaled only when one of its candidates passes ``pred_iou_thresh``;
- only those candidates are upsampled to the full image size (stock: all of them, before filtering);
- masks stay boolean tensors to the end: no RLE round trip, no deep copies in ``MaskData.cat``.

The prompt grid, thresholds, stability score, crop-edge filter, NMS and the order of the results are
the stock generator's, so the masks are the same (tested bit for bit on the CPU). ``generate``
returns the stock records with ``segmentation`` always a bool HxW array. With ``use_m2m`` or
``multimask_output=False`` it runs the stock pipeline.

One argument is its own: ``autocast_dtype`` (``'bfloat16'`` or ``'float16'``) runs SAM2 under
``torch.autocast``; faster, and the masks change slightly.
"""

from typing import Any, Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator
from sam2.utils.amg import (
    batch_iterator,
    batched_mask_to_box,
    box_xyxy_to_xywh,
    calculate_stability_score,
    generate_crop_boxes,
    is_box_near_crop_edge,
    uncrop_boxes_xyxy,
    uncrop_masks,
    uncrop_points,
)
from torchvision.ops.boxes import batched_nms, box_area

from pyiqa_llmiqa.config.options import AUTOCAST_DTYPES


def _attend(attn, q, k, v):
    """sam2 ``Attention`` where q or k/v may have batch 1 (shared by all prompts): project each once."""
    heads = attn.num_heads
    q = attn._separate_heads(attn.q_proj(q), heads)
    k = attn._separate_heads(attn.k_proj(k), heads)
    v = attn._separate_heads(attn.v_proj(v), heads)
    batch = max(q.shape[0], k.shape[0])
    q, k, v = (t.expand(batch, -1, -1, -1) for t in (q, k, v))
    return attn.out_proj(attn._recombine_heads(F.scaled_dot_product_attention(q, k, v)))


def _two_way_block(layer, queries, keys, tokens, pe):
    """One ``TwoWayAttentionBlock``; ``keys`` (the image side) may have batch 1."""
    if layer.skip_first_layer_pe:
        queries = layer.self_attn(q=queries, k=queries, v=queries)
    else:
        q = queries + tokens
        queries = queries + layer.self_attn(q=q, k=q, v=queries)
    queries = layer.norm1(queries)
    keys_pe = keys + pe
    queries = layer.norm2(queries + _attend(layer.cross_attn_token_to_image, queries + tokens, keys_pe, keys))
    queries = layer.norm3(queries + layer.mlp(queries))
    keys = layer.norm4(keys + _attend(layer.cross_attn_image_to_token, keys_pe, queries + tokens, queries))
    return queries, keys


def _take(data: Dict[str, torch.Tensor], index) -> Dict[str, torch.Tensor]:
    return {key: value[index] for key, value in data.items()}


def _cat(parts: List[Dict[str, torch.Tensor]]) -> Dict[str, torch.Tensor]:
    return {key: torch.cat([part[key] for part in parts]) for key in parts[0]}


class LeanMaskGenerator(SAM2AutomaticMaskGenerator):
    """``SAM2AutomaticMaskGenerator`` with the same arguments and masks, and less work per prompt."""

    def __init__(self, model, autocast_dtype: Optional[str] = None, **kwargs):
        if autocast_dtype not in AUTOCAST_DTYPES:
            raise ValueError(f"autocast_dtype must be null, 'bfloat16' or 'float16'; got {autocast_dtype!r}")
        super().__init__(model, **kwargs)
        self.autocast_dtype = autocast_dtype

    @torch.no_grad()
    def generate(self, image: np.ndarray) -> List[Dict[str, Any]]:
        dtype = getattr(torch, self.autocast_dtype or 'float32')
        with torch.autocast(self.predictor.device.type, dtype=dtype, enabled=self.autocast_dtype is not None):
            return self._records(image)

    def _records(self, image: np.ndarray) -> List[Dict[str, Any]]:
        if self.use_m2m or not self.multimask_output:
            return super().generate(image)
        data = self._image_masks(image)
        return [
            {
                'segmentation': mask.cpu().numpy(),
                'area': int(mask.sum()),
                'bbox': box_xyxy_to_xywh(box).tolist(),
                'predicted_iou': float(iou),
                'point_coords': [point.tolist()],
                'stability_score': float(stability),
                'crop_box': box_xyxy_to_xywh(crop_box).tolist(),
            }
            for mask, box, iou, point, stability, crop_box in zip(
                data['masks'],
                data['boxes'],
                data['iou_preds'],
                data['points'],
                data['stability_score'],
                data['crop_boxes'],
            )
        ]

    def _image_masks(self, image: np.ndarray) -> Dict[str, torch.Tensor]:
        orig_size = image.shape[:2]
        crop_boxes, layer_idxs = generate_crop_boxes(orig_size, self.crop_n_layers, self.crop_overlap_ratio)
        data = _cat([self._crop_masks(image, box, layer, orig_size) for box, layer in zip(crop_boxes, layer_idxs)])
        if len(crop_boxes) > 1:  # duplicates between crops: prefer masks from smaller crops
            keep = batched_nms(
                data['boxes'].float(),
                1 / box_area(data['crop_boxes']),
                torch.zeros_like(data['boxes'][:, 0]),
                iou_threshold=self.crop_nms_thresh,
            )
            data = _take(data, keep)
        return data

    def _crop_masks(self, image, crop_box, layer_idx, orig_size) -> Dict[str, torch.Tensor]:
        x0, y0, x1, y1 = crop_box
        cropped = image[y0:y1, x0:x1, :]
        size = cropped.shape[:2]
        self.predictor.set_image(cropped)
        grid = self.point_grids[layer_idx] * np.array(size)[None, ::-1]
        data = _cat(
            [
                self._batch_masks(points, size, crop_box, orig_size)
                for (points,) in batch_iterator(self.points_per_batch, grid)
            ]
        )
        self.predictor.reset_predictor()
        keep = batched_nms(
            data['boxes'].float(),
            data['iou_preds'],
            torch.zeros_like(data['boxes'][:, 0]),
            iou_threshold=self.box_nms_thresh,
        )
        data = _take(data, keep)
        data['boxes'] = uncrop_boxes_xyxy(data['boxes'], crop_box)
        data['points'] = uncrop_points(data['points'], crop_box)
        data['masks'] = uncrop_masks(data['masks'], crop_box, *orig_size)
        data['crop_boxes'] = torch.tensor([crop_box] * len(keep), device=data['boxes'].device)
        return data

    def _batch_masks(self, points, im_size, crop_box, orig_size) -> Dict[str, torch.Tensor]:
        predictor = self.predictor
        points = torch.as_tensor(points, dtype=torch.float32, device=predictor.device)
        coords = predictor._transforms.transform_coords(points, normalize=True, orig_hw=im_size)
        labels = torch.ones(len(coords), dtype=torch.int, device=coords.device)
        low_res, iou_preds, prompt = self._decode(coords[:, None, :], labels[:, None])
        logits = predictor._transforms.postprocess_masks(low_res[:, None], predictor._orig_hw[-1])[:, 0]
        data = {
            'masks': logits,
            'iou_preds': iou_preds,
            'points': points[prompt],
            'stability_score': calculate_stability_score(logits, self.mask_threshold, self.stability_score_offset),
        }
        if self.stability_score_thresh > 0.0:
            data = _take(data, data['stability_score'] >= self.stability_score_thresh)
        data['masks'] = data['masks'] > self.mask_threshold
        data['boxes'] = batched_mask_to_box(data['masks'])
        near_edge = is_box_near_crop_edge(data['boxes'], crop_box, [0, 0, orig_size[1], orig_size[0]])
        return _take(data, ~near_edge)

    def _decode(self, coords, labels):
        """Low-res logits, predicted IoU and prompt index of the candidates that pass ``pred_iou_thresh``."""
        model = self.predictor.model
        decoder = model.sam_mask_decoder
        transformer = decoder.transformer
        features = self.predictor._features
        sparse, dense = model.sam_prompt_encoder(points=(coords, labels), boxes=None, masks=None)
        first = 1 if decoder.pred_obj_scores else 0
        weights = ([decoder.obj_score_token.weight] if first else []) + [
            decoder.iou_token.weight,
            decoder.mask_tokens.weight,
        ]
        tokens = torch.cat([torch.cat(weights).expand(len(sparse), -1, -1), sparse], dim=1)

        # One copy of the image side for all prompts. Memory layouts follow the stock decoder's (its
        # per-prompt copies are NCHW-contiguous): they pick the matmul kernel, and so the last bits.
        image = features['image_embed'][-1:] + dense[:1]
        if len(sparse) > 1:
            image = image.contiguous()
        _, channels, height, width = image.shape
        image = image.flatten(2).permute(0, 2, 1)
        pe = model.sam_prompt_encoder.get_dense_pe().contiguous().flatten(2).permute(0, 2, 1)
        queries, keys = tokens, image
        for layer in transformer.layers:
            queries, keys = _two_way_block(layer, queries, keys, tokens, pe)
        hs = transformer.norm_final_attn(
            queries + _attend(transformer.final_attn_token_to_image, queries + tokens, keys + pe, keys)
        )

        iou_preds = decoder.iou_prediction_head(hs[:, first])[:, 1:]  # multimask: tokens 1..3
        passed = (
            iou_preds > self.pred_iou_thresh
            if self.pred_iou_thresh > 0.0
            else torch.ones_like(iou_preds, dtype=torch.bool)
        )
        rows = passed.any(dim=1).nonzero()[:, 0]
        src = keys[rows].transpose(1, 2).view(len(rows), channels, height, width)
        if decoder.use_high_res_features:
            conv1, norm1, act1, conv2, act2 = decoder.output_upscaling
            feat_s0, feat_s1 = (feature[-1:] for feature in features['high_res_feats'])
            upscaled = act2(conv2(act1(norm1(conv1(src) + feat_s1))) + feat_s0)
        else:
            upscaled = decoder.output_upscaling(src)
        mask_tokens = hs[rows, first + 1 : first + 1 + decoder.num_mask_tokens]
        hyper = torch.stack([mlp(mask_tokens[:, i]) for i, mlp in enumerate(decoder.output_hypernetworks_mlps)], 1)
        up_channels, up_h, up_w = upscaled.shape[1:]
        low_res = (hyper @ upscaled.view(len(rows), up_channels, up_h * up_w)).unflatten(2, (up_h, up_w))
        passed = passed[rows]
        return low_res[:, 1:][passed], iou_preds[rows][passed], rows[:, None].expand_as(passed)[passed]
