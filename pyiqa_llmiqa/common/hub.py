"""The Hugging Face hub as this package sees it: whether the user chose to be offline, and whether a
model name is a hub id or a local folder. One reading of each, so every message agrees."""

import os
from typing import Any

OFFLINE_VALUES = ('1', 'true', 'yes', 'on')  # what huggingface_hub accepts as true


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set to a true value, as huggingface_hub reads it."""
    return os.environ.get('HF_HUB_OFFLINE', '').strip().lower() in OFFLINE_VALUES


def looks_like_path(name: str) -> bool:
    """A hub id is ``owner/name``; anything else with a path's shape is meant as a folder."""
    return name.startswith(('.', '/', '~')) or name.count('/') > 1 or '\\' in name


def is_hub_id(name: Any) -> bool:
    """``owner/name`` that is not a path on this machine: something to find in the hub cache or fetch."""
    return (
        isinstance(name, str)
        and not looks_like_path(name)
        and name.count('/') == 1
        and not os.path.exists(os.path.expanduser(name))
    )
