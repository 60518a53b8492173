"""What differs between the transformers releases setup.py admits, in one place.

transformers 5.24 renamed a model's key-value cache from ``past_key_values`` to ``cache``, in the
arguments of ``forward`` and in its output. CI runs the suite at the lowest admitted release (the
old name) and the newest (the new one); tests/test_compat.py checks each branch in its install.
"""

import inspect


def cache_argument(model) -> str:
    """The name under which ``model.forward`` takes (and its output returns) the key-value cache."""
    return 'cache' if 'cache' in inspect.signature(model.forward).parameters else 'past_key_values'


def returned_cache(model, output):
    """The key-value cache in the output of ``model``'s forward pass."""
    return output[cache_argument(model)]
