"""Data-parallel runs: process group from the environment, global-batch sharding, rank-0 writing.

``torchrun --nproc-per-node K -m noisebench train ...`` starts K processes with ``RANK``,
``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` set; a grid with
``executor.gpus_per_run: K`` runs each submitit job as K tasks on one node, and
:func:`setup_from_job_environment` exports the same variables from the Slurm (or submitit local) job.
Every rank draws the same global batch order from ``train_seed`` (the single-process order) and
trains on its contiguous shard of each global batch, so the global batches, and their order, are
the single-process run's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from noisebench.errors import ConfigError


@dataclass(frozen=True)
class Ranks:
    """Where this process stands in a run: its rank, the number of ranks, and its device."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")
    owns_group: bool = False

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def writes(self) -> bool:
        """Only rank 0 writes the run directory."""
        return self.rank == 0


def world_size_from_env() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def setup(device: torch.device) -> Ranks:
    """The ranks of this run: an already initialised group, torchrun's environment (WORLD_SIZE > 1;
    gloo on CPU, nccl on CUDA, one GPU per local rank), or a single process on ``device``."""
    if dist.is_available() and dist.is_initialized():
        return Ranks(dist.get_rank(), dist.get_world_size(), _rank_device(device), owns_group=False)
    if world_size_from_env() <= 1:
        return Ranks(device=device)
    device = _rank_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", init_method="env://")
    return Ranks(dist.get_rank(), dist.get_world_size(), device, owns_group=True)


def setup_from_job_environment() -> Ranks:
    """The ranks of one task of a multi-task submitit job (Slurm's or submitit's local cluster):
    torch.distributed's variables exported from the job environment, then :func:`setup`.

    The group is this task's to tear down; runs trained inside it reuse it. On the local cluster,
    where nothing pins tasks to cores, the node's cores are shared out among its tasks.
    """
    import submitit
    from submitit.helpers import TorchDistributedEnvironment

    job = TorchDistributedEnvironment().export(set_cuda_visible_devices=False, overwrite=True)
    if submitit.JobEnvironment().cluster == "local":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // job.local_world_size))
    return setup(torch.device("cuda" if torch.cuda.is_available() else "cpu"))


def _rank_device(device: torch.device) -> torch.device:
    """One GPU per local rank, whether the node shows a task all its GPUs or only the task's own."""
    if device.type != "cuda":
        return device
    local = int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count()
    torch.cuda.set_device(local)
    return torch.device("cuda", local)


def teardown(ranks: Ranks) -> None:
    if ranks.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def check_batches(n_examples: int, batch_size: int, world_size: int) -> None:
    """Every global batch (the last one included) must give each rank at least one example."""
    last = n_examples % batch_size or batch_size
    smallest = min(batch_size, last, n_examples)
    if smallest < world_size:
        raise ConfigError(
            f"{world_size} ranks need every global batch to hold >= {world_size} examples; with n_train {n_examples} "
            f"and batch_size {batch_size} one holds {smallest}: use fewer ranks or another batch size"
        )


def shard(index: np.ndarray, ranks: Ranks) -> np.ndarray:
    """This rank's contiguous part of a global batch (sizes differ by at most one)."""
    return np.array_split(index, ranks.world_size)[ranks.rank]


def from_rank0(value: Any, ranks: Ranks) -> Any:
    """Rank 0's ``value`` (any picklable object) on every rank; ``value`` itself in one process."""
    if not ranks.is_distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_objects(value: Any, ranks: Ranks) -> list[Any]:
    """Every rank's ``value``, indexed by rank, on every rank."""
    if not ranks.is_distributed:
        return [value]
    values: list[Any] = [None] * ranks.world_size
    dist.all_gather_object(values, value)
    return values


def mean_over_ranks(value: torch.Tensor, ranks: Ranks) -> float:
    """The mean of a scalar over ranks (itself in a single process)."""
    if not ranks.is_distributed:
        return value.item()
    total = value.detach().clone().reshape(1).to(torch.float64)
    dist.all_reduce(total)
    return total.item() / ranks.world_size


def auto_precision() -> str:
    """``bf16`` on a CUDA device that supports it, else ``fp32`` (what ``--precision auto`` resolves to)."""
    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
