"""The package's errors: one base class, so ``except LLMIQAError`` catches every error llmiqa raises
on purpose. Each also derives from the built-in class it has always been (``ValueError`` for bad
options and inputs, ``RuntimeError`` for what failed to load), so existing handlers keep working.
"""


class LLMIQAError(Exception):
    """Base of every error pyiqa-llmiqa raises about an option, an input or a model it cannot use."""


class OptionError(LLMIQAError, ValueError):
    """An option has an unknown name, a wrong type or a value out of range."""


class InputError(LLMIQAError, ValueError):
    """An input image or tensor cannot be scored; the message says which and why."""


class ImageLoadError(LLMIQAError, ValueError):
    """An image file cannot be scored; the message names the file and the reason."""


class BackboneLoadError(LLMIQAError, RuntimeError):
    """A backbone could not be loaded; the message says why and how to fix it."""


class SegmenterLoadError(LLMIQAError, RuntimeError):
    """A SAM2 checkpoint could not be read, or does not fit its config; the message names both."""


class CheckpointNotFoundError(LLMIQAError, FileNotFoundError):
    """A SAM2 checkpoint is neither the local file named nor in reach on the hub; the message says how to get it."""


class DeviceError(LLMIQAError, ValueError):
    """A device torch does not know, or cannot use here; the message says what to pass instead."""


class HubUnreachableError(LLMIQAError, RuntimeError):
    """Files a metric needs are not in the cache and the hub cannot be reached; the message lists them."""


class ScoresError(LLMIQAError, ValueError):
    """Scores or human scores that cannot be correlated, quantized or plotted; the message says why."""


class ServerError(LLMIQAError, RuntimeError):
    """A model server did not answer (down, wrong URL, still failing after its retries); the message names
    the URL. Transient: ``bench`` records the image as failed and scores it again when the run resumes."""


class ServerAnswerError(LLMIQAError, ValueError):
    """A model server answered, but not with what the score needs; the message says what was wrong."""


class PyiqaInternalsError(LLMIQAError, RuntimeError):
    """The installed pyiqa lacks or reshaped an internal the plugin relies on; the message names each."""
