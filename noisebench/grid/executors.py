"""The executors a grid's runs can be handed to, by name, with what each one is (shown by ``noisebench list``)."""

from __future__ import annotations

EXECUTORS: dict[str, str] = {
    "local": "a process pool on this machine (--jobs workers)",
    "submitit": "Slurm job arrays through submitit (its local cluster without Slurm); --gpus-per-run K for data-parallel runs",
}
