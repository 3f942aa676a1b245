"""Which process of a ``torchrun`` launch this is, and the process group training averages over.

``torchrun --nproc_per_node N`` (or across nodes) starts N copies of one command and tells each
its place through ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; a plain process is rank 0 of 1.
Training, batch prediction and the analyses all split their work by these numbers, and only
rank 0 writes a file that every rank would otherwise write.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

__all__ = ["distributed_env", "is_main_process", "ProcessGroup"]


def distributed_env() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment; (0, 1) for a plain process."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """True unless this is a non-zero rank under torchrun: only rank 0 writes files, because
    every rank holds the same weights and concurrent writers would interleave a card and a
    weights file from different processes."""
    return distributed_env()[0] == 0


class ProcessGroup:
    """This process's rank, world and device, with the process group joined when world > 1.

    Each rank uses GPU ``LOCAL_RANK`` when there are GPUs (nccl), else the CPU (gloo); with a
    world of 1 it is a no-op wrapper around the device choice.
    """

    def __init__(self) -> None:
        self.rank, self.world = distributed_env()
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.active = self.world > 1
        if torch.cuda.is_available():
            self.device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(self.device)
        else:
            self.device = torch.device("cpu")
        if self.active and not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.active:
            dist.barrier()
