"""The names sam2 gives its models: the model configs it ships and the hub ids it knows.

Read without importing sam2, so that options can be checked before SAM2 is loaded: the configs are
found on disk beside the package, the hub ids in the source of ``sam2.build_sam``.
"""

import ast
import functools
import importlib
import importlib.util
from pathlib import Path
from typing import Dict, List, Tuple

_HUB_TABLE = 'HF_MODEL_ID_TO_FILENAMES'  # in sam2.build_sam


def _sam2_root() -> Path:
    return Path(importlib.util.find_spec('sam2').origin).parent


def available_sam2_configs() -> List[str]:
    """Model config names shipped inside the sam2 package (``configs/...yaml``)."""
    root = _sam2_root()
    return sorted(p.relative_to(root).as_posix() for p in (root / 'configs').rglob('*.yaml'))


def resolve_sam2_config(name: str) -> str:
    """Map a config name to the one sam2's hydra knows.

    Accepts the full name (``configs/sam2.1/sam2.1_hiera_t.yaml``) or a short form
    (``sam2.1_hiera_t``, ``sam2.1_hiera_t.yaml``, ``sam2.1/sam2.1_hiera_t``).
    """
    root = _sam2_root()
    filename = name if name.endswith('.yaml') else name + '.yaml'
    if filename.startswith('configs/') and (root / filename).is_file():
        return filename
    matches = [c for c in available_sam2_configs() if c == 'configs/' + filename or c.rsplit('/', 1)[-1] == filename]
    if len(matches) == 1:
        return matches[0]
    raise ValueError(
        f'unknown SAM2 config {name!r}'
        + (f' (ambiguous: {matches})' if matches else '')
        + f'; the sam2 package ships: {", ".join(available_sam2_configs())}'
    )


@functools.lru_cache(maxsize=None)
def sam2_hub_models() -> Dict[str, Tuple[str, str]]:
    """sam2's hub ids, each with its (config, checkpoint file name).

    Read as a literal from ``sam2/build_sam.py`` where it is one (importing sam2 loads torch and
    starts hydra, too much for checking an option); imported otherwise.
    """
    source = (_sam2_root() / 'build_sam.py').read_text(encoding='utf-8')
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and [getattr(t, 'id', None) for t in node.targets] == [_HUB_TABLE]:
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                break
    return dict(getattr(importlib.import_module('sam2.build_sam'), _HUB_TABLE))
