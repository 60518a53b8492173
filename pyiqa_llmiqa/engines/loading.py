"""The error for a model that did not load, with the fix for its likely cause (any in-process engine)."""

import os

from pyiqa_llmiqa.common.hub import hub_offline, looks_like_path
from pyiqa_llmiqa.errors import BackboneLoadError


def backbone_load_error(name: str, error: Exception) -> BackboneLoadError:
    """The error for a backbone that did not load, with the fix for the likely cause."""
    if os.path.isdir(name):
        fix = (
            f'the folder {name!r} must hold a model saved with save_pretrained (config.json, weights '
            'as safetensors) and its processor (tokenizer, image processor, chat template); if its '
            'weights are corrupt, save or download them again'
        )
    elif looks_like_path(name):
        folder = os.path.abspath(os.path.expanduser(name))
        fix = f'there is no folder {folder!r}; pass an existing local folder or a hub id'
    elif hub_offline():
        fix = (
            f'HF_HUB_OFFLINE={os.environ["HF_HUB_OFFLINE"]} is set and {name!r} is not in the Hugging Face cache. '
            'Download it once '
            f'where the hub is reachable (`hf download {name}`), or pass a local folder as backbone'
        )
    else:
        fix = (
            f'check that {name!r} is a hub id of an image-text-to-text model (or a local folder), that '
            'the hub is reachable, and for gated models that you are logged in (`hf auth login`)'
        )
    return BackboneLoadError(f'could not load backbone {name!r}: {fix}. ({type(error).__name__}: {error})')
