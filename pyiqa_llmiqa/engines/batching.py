"""Running a model over many inputs in batches, splitting a batch that runs out of memory.

A batch that raises an out-of-memory error is halved and retried, down to one input; the smaller
size is kept for the rest of the call. Only an input that does not fit alone is an error.
"""

import gc
import warnings
from typing import Callable, Sequence

import torch

from pyiqa_llmiqa.errors import LLMIQAError

GPU_BATCH_SIZE = 8
CPU_BATCH_SIZE = 4


def batch_size_for(device: torch.device, batch_size=None) -> int:
    """``batch_size``, or by default 8 on a GPU (batching pays) and 4 on a CPU: there, with 20 to 70
    regions (mostly small crops, whose tokens are mostly the prompt's text), size-sorted batches of 4
    cost least (benchmarks/speed.py, docs/speed.md)."""
    if batch_size is not None:
        return batch_size
    return GPU_BATCH_SIZE if torch.device(device).type == 'cuda' else CPU_BATCH_SIZE


class BatchOutOfMemoryError(LLMIQAError, torch.OutOfMemoryError):
    """One input alone does not fit in memory; the message says what to change.

    A ``torch.OutOfMemoryError`` too, so code that catches torch's error (on any device) catches it.
    """


def is_out_of_memory(error: BaseException) -> bool:
    """CUDA's ``torch.OutOfMemoryError``, and the plain RuntimeErrors of the CPU and MPS allocators."""
    if isinstance(error, torch.cuda.OutOfMemoryError):  # = torch.OutOfMemoryError in torch >= 2.5
        return True
    message = str(error)
    return isinstance(error, RuntimeError) and ("can't allocate memory" in message or 'out of memory' in message)


def free_memory() -> None:
    """Release what a failed batch left behind (Python garbage and the CUDA cache)."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def run_in_batches(forward: Callable[[Sequence], torch.Tensor], items: Sequence, batch_size: int) -> torch.Tensor:
    """``torch.cat`` of ``forward(batch)`` over ``items`` in batches of at most ``batch_size``."""
    outputs, start, size = [], 0, batch_size
    while start < len(items):
        batch = items[start : start + size]
        try:
            outputs.append(forward(batch))
            start += len(batch)
            continue
        except RuntimeError as error:
            if not is_out_of_memory(error):
                raise
            if len(batch) == 1:
                raise BatchOutOfMemoryError(
                    f'out of memory on a single image or region, even alone ({error}). Lower the '
                    'image size the processor uses (processor_kwargs: {max_pixels: ...}), use '
                    'dtype=bfloat16 or quantization, or a smaller backbone'
                ) from error
        # Outside the except block, so the failed batch's tensors (held by the traceback) can go.
        free_memory()
        size = max(1, len(batch) // 2)
        warnings.warn(
            f'out of memory on a batch of {len(batch)}; retrying in batches of {size}', RuntimeWarning, stacklevel=2
        )
    return torch.cat(outputs)
