"""Sharding over processes started by ``torchrun`` or ``accelerate launch`` (torch.distributed).

Both launchers set ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; without them there is one process.
The group (gloo, on CPU and GPU alike) is only used to wait for each other.
"""

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional, Sequence

# Processes wait at a barrier until the slowest has scored its shard of a data set.
BARRIER_TIMEOUT = timedelta(hours=48)


@dataclass
class Processes:
    """This process's place among the processes of one run."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, items: Sequence) -> list:
        """Every ``world``-th item, starting at this process's rank."""
        return list(items[self.rank :: self.world])

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def device(self, requested: Optional[str]) -> str:
        """The torch device of this process: its own GPU (shared round-robin if there are fewer GPUs)."""
        from pyiqa_llmiqa.common.devices import default_device

        device = requested or default_device()
        if self.world > 1 and device == 'cuda':
            import torch

            device = f'cuda:{self.local_rank % torch.cuda.device_count()}'
        return device


def start() -> Processes:
    """Join the process group the launcher set up, if any."""
    world = int(os.environ.get('WORLD_SIZE', '1'))
    if world == 1:
        return Processes()
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group('gloo', timeout=BARRIER_TIMEOUT)
    return Processes(dist.get_rank(), world, int(os.environ.get('LOCAL_RANK', '0')))


def stop(processes: Processes) -> None:
    """Leave the process group."""
    if processes.world > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
