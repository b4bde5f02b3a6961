"""Data-parallel runs: global batches and order as in one process, rank-0 writing, and a 2-rank gloo run
that trains like the single-process run on the same global batches."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from noisebench.errors import ConfigError
from noisebench.schema import RunConfig
from noisebench.train.distributed import Ranks, check_batches, setup, shard
from noisebench.train.run import run_training
from tests.conftest import spawn_ranks

TIMES = ("setup_time_s", "train_time_s", "eval_time_s", "wall_time_s")


@pytest.mark.parametrize("world_size", [2, 3, 4])
def test_the_shards_of_every_global_batch_are_the_single_process_batch_in_order(world_size):
    order = torch.randperm(35, generator=torch.Generator().manual_seed(0))
    for global_batch in order.split(8):
        parts = [shard(global_batch.numpy(), Ranks(rank, world_size)) for rank in range(world_size)]
        assert np.array_equal(np.concatenate(parts), global_batch.numpy())
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_a_global_batch_smaller_than_the_world_is_rejected():
    check_batches(35, 8, 3)  # last global batch holds 3
    with pytest.raises(ConfigError, match="batch"):
        check_batches(33, 8, 2)  # last global batch holds 1


def test_without_torchrun_a_run_is_one_writing_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    ranks = setup(torch.device("cpu"))
    assert (ranks.rank, ranks.world_size, ranks.is_distributed, ranks.writes) == (0, 1, False, True)


def _config(model: Path) -> RunConfig:
    return RunConfig(
        task="sst2", model=str(model), n_train=35, epochs=2, batch_size=8, lr=1e-3, max_length=16,
        method="ce-scl", method_params={"lam": 0.9, "tau": 0.3},
    )


def _torchrun_rank(rank: int, world_size: int, port: int, model: str, glue: str, out: str) -> None:
    """One process as torchrun starts it: the environment only; run_training sets up the group itself."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    output = run_training(_config(Path(model)), data_dir=Path(glue), progress=False)
    Path(f"{out}.{rank}").write_text(json.dumps({"writes": output.writes, "metrics": output.metrics}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_ranks_train_like_one_process_on_the_same_global_batches(no_dropout_model, glue_dir, tmp_path, monkeypatch):
    out = tmp_path / "rank"
    spawn_ranks(_torchrun_rank, lambda: (2, _free_port(), str(no_dropout_model), str(glue_dir), str(out)))
    ranks = [json.loads(Path(f"{out}.{rank}").read_text()) for rank in range(2)]
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    single = run_training(_config(no_dropout_model), data_dir=glue_dir, progress=False).metrics

    assert [r["writes"] for r in ranks] == [True, False]
    assert ranks[0]["metrics"]["world_size"] == 2
    assert ranks[0]["metrics"]["history"] == ranks[1]["metrics"]["history"]  # every rank logs the global loss
    for epoch, expected in zip(ranks[0]["metrics"]["history"], single["history"]):
        assert epoch["train_loss"] == pytest.approx(expected["train_loss"], rel=1e-4)
        assert epoch["dev_accuracy"] == expected["dev_accuracy"]
    assert ranks[0]["metrics"]["test_accuracy"] == single["test_accuracy"]
