"""Executors by name: ``local`` (a process pool), ``submitit`` (Slurm job arrays), ``ray`` (a Ray cluster).

Each is an :class:`~noisebench.grid.executors.base.Executor` registered in :data:`EXECUTORS`; a plugin
(``NOISEBENCH_PLUGINS`` or the ``noisebench.plugins`` entry points) registers more with
:func:`register_executor`. The grid file's ``executor:`` block is the chosen executor's options
(:func:`parse_block`); a block without ``name`` holds today's flat (submitit) keys.
"""

from __future__ import annotations

from typing import Any

from noisebench.errors import ConfigError
from noisebench.grid.executors.base import (
    Dispatch,
    Executor,
    ExecutorOptions,
    lost_outcome,
)
from noisebench.registry import Registry

__all__ = [
    "DEFAULT_EXECUTOR",
    "EXECUTORS",
    "Dispatch",
    "Executor",
    "ExecutorOptions",
    "get_executor",
    "lost_outcome",
    "options_model",
    "parse_block",
    "register_executor",
    "resolve",
]

EXECUTORS: Registry[Executor] = Registry("executor")
DEFAULT_EXECUTOR = "local"


def register_executor(executor: Executor) -> Executor:
    return EXECUTORS.register(executor.name, executor)


def get_executor(name: str) -> Executor:
    return EXECUTORS.get(name)


def _unnamed_options() -> type[ExecutorOptions]:
    """The options a block without ``name`` holds: today's flat keys (Slurm resources and gpus_per_run)."""
    from noisebench.grid.executors.submitit import SubmititOptions

    return SubmititOptions


def options_model(name: str | None) -> type[ExecutorOptions]:
    return _unnamed_options() if name is None else get_executor(name).Options


def parse_block(block: dict[str, Any] | ExecutorOptions | None) -> ExecutorOptions:
    """The grid's ``executor:`` block as its executor's typed options (a ValidationError names the bad key)."""
    if isinstance(block, ExecutorOptions):
        return block
    block = dict(block or {})
    model = options_model(block.get("name"))
    # a dumped block (``options.model_dump()``) lists every default: those count as not given
    given = {k: v for k, v in block.items() if k not in model.model_fields or v != model.model_fields[k].default}
    return model.model_validate(given)


def resolve(name: str | None, block: dict[str, Any] | ExecutorOptions | None, overrides: dict[str, Any] | None = None) -> tuple[Executor, ExecutorOptions]:
    """The executor to use (``name``: --executor, else the block's name, else local) and its options.

    The block's options apply when it is that executor's (or an unnamed block and the executor takes its
    keys); otherwise the executor's defaults, keeping the block's ``gpus_per_run`` (a property of the runs).
    ``overrides`` (command-line options such as partition, gpus_per_run) must be keys the executor takes.
    """
    options = parse_block(block)
    executor = get_executor(name or options.name or DEFAULT_EXECUTOR)
    if not isinstance(options, executor.Options):
        options = executor.Options(gpus_per_run=options.gpus_per_run)
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(given) - set(executor.Options.model_fields))
    if unknown:
        flags = ", ".join("--" + key.replace("_", "-") for key in unknown)
        raise ConfigError(f"{flags} does not apply to the {executor.name} executor")
    if given:
        options = executor.Options.model_validate({**options.model_dump(exclude_unset=True), "name": options.name, **given})
    return executor, options


from noisebench.grid.executors import local as _local
from noisebench.grid.executors import ray as _ray
from noisebench.grid.executors import submitit as _submitit

register_executor(_local.LocalExecutor())
register_executor(_submitit.SubmititExecutor())
register_executor(_ray.RayExecutor())
