"""Random-weight SAM2 checkpoints, for tests that must run offline."""

import os
from pathlib import Path
from typing import Union

import torch

from pyiqa_llmiqa.config.sam2_names import resolve_sam2_config


def save_random_sam2_checkpoint(
    path: Union[str, os.PathLike], config: str = 'configs/sam2.1/sam2.1_hiera_t.yaml', seed: int = 0
) -> Path:
    """Build a SAM2 model with random weights (seeded) and save it as sam2 checkpoints are: ``{'model': state_dict}``.

    The global torch RNG state is left untouched.
    """
    from sam2.build_sam import build_sam2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_sam2(resolve_sam2_config(config), ckpt_path=None, device='cpu')
    torch.save({'model': model.state_dict()}, path)
    return path
