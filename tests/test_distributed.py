"""Which process of a torchrun launch this is: the global rank decides who writes, the local
rank which GPU a process uses."""

from __future__ import annotations

import pytest
import torch

from deep_emotion import distributed
from deep_emotion.distributed import ProcessGroup, distributed_env, is_main_process


def launched(monkeypatch, rank: int, local_rank: int, world: int) -> None:
    """The environment torchrun gives one process."""
    for name, value in (("RANK", rank), ("LOCAL_RANK", local_rank), ("WORLD_SIZE", world)):
        monkeypatch.setenv(name, str(value))


def test_a_plain_process_is_rank_zero_of_one(monkeypatch):
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert distributed_env() == (0, 1) and is_main_process()


@pytest.mark.parametrize("rank, local_rank, main", [
    (0, 0, True),    # the first process of the first machine
    (2, 0, False),   # the first process of the second machine: local rank 0, not the main one
    (1, 1, False),
    (3, 1, False),
])
def test_the_global_rank_decides_the_main_process_on_two_machines(monkeypatch, rank,
                                                                  local_rank, main):
    launched(monkeypatch, rank, local_rank, world=4)
    assert distributed_env() == (rank, 4)
    assert is_main_process() is main


def test_each_process_takes_the_gpu_of_its_local_rank(monkeypatch):
    """The fourth process of two two-GPU machines uses GPU 1 of its own machine."""
    launched(monkeypatch, rank=3, local_rank=1, world=4)
    chosen = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: True)  # joined already
    group = ProcessGroup()
    assert (group.rank, group.world, group.local_rank) == (3, 4, 1)
    assert group.device == torch.device("cuda", 1) and chosen == [torch.device("cuda", 1)]
    assert group.active and not group.main
