"""Command-line interface: each command is a thin layer over the Python API."""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import get_args

import click

from noisebench.errors import ConfigError, DataError, NoisebenchError, OutputError
from noisebench.grid.executors import EXECUTORS
from noisebench.grid.torchrun import check_options, is_lead_rank, leave_together, under_torchrun
from noisebench.methods.ce_scl import CE_SCL
from noisebench.outputs import check_writable_dir
from noisebench.parameters import Parameter
from noisebench.progress import close_open_bars
from noisebench.registry import load_plugins
from noisebench.schema import Pooling, Precision, RunConfig, default
from noisebench.trackers import check_installed, tracker_names

PAPER_METHOD = CE_SCL.name


class _Group(click.Group):
    """Turns expected errors into one ``error: ...`` line on stderr and exit status 2.

    Expected errors are the project's own (:class:`NoisebenchError`: bad config, data, artifact, asset,
    model or output), OSError (a user path that cannot be read or written) and click's usage errors
    (also one line here, rather than click's usage block). Anything else is a bug and keeps its
    traceback; ``--debug`` shows the traceback of expected errors too.
    """

    def main(self, *args, **kwargs):
        """Load the plugins before anything else (``--help`` included): a broken one is one error line."""
        try:
            load_plugins()
        except NoisebenchError as error:
            _fail(None, _describe(error), 2)
        return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            command = error.ctx.command_path if error.ctx is not None else ctx.command_path
            _fail(ctx, f"{command}: {error.format_message()} (see '{command} --help')", error.exit_code)
        except click.ClickException as error:
            _fail(ctx, error.format_message(), error.exit_code)
        except (NoisebenchError, OSError) as error:
            _fail(ctx, _describe(error), 2)


def _describe(error: BaseException) -> str:
    """One line for an expected error; an OSError names its path and the system's reason."""
    if isinstance(error, OSError) and not isinstance(error, NoisebenchError) and error.strerror:
        paths = " -> ".join(str(p) for p in (error.filename, error.filename2) if p is not None)
        return f"{paths}: {error.strerror}" if paths else error.strerror
    return " ".join(str(error).split("\n"))


def _fail(ctx: click.Context | None, message: str, exit_code: int) -> None:
    """Close the progress bars (the error starts on a line of its own), print one ``error:`` line, exit."""
    close_open_bars()
    if ctx is not None and ctx.meta.get(_DEBUG):
        traceback.print_exc()
    if is_lead_rank():  # under torchrun every rank meets the error; rank 0 says it
        click.echo(f"error: {message}", err=True)
    leave_together()
    sys.exit(exit_code)


_DEBUG = "noisebench.debug"


@click.group(cls=_Group)
@click.option("-v", "--verbose", is_flag=True, help="Log progress details.")
@click.option("--debug", is_flag=True, help="Show the traceback of expected errors too (bad input, unreadable files).")
@click.pass_context
def main(ctx: click.Context, verbose: bool, debug: bool) -> None:
    """noisebench: how robust is fine-tuning to label noise? Every method against CE, with paired statistics.

    Bad input and faults (bad options, data, artifacts, models, unwritable or existing outputs, damaged
    cached assets) end with one `error: ...` line and exit status 2, before anything is written.
    """
    ctx.meta[_DEBUG] = debug
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _n_relabel(value: str) -> int | None:
    if value == "all":
        return None
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter(f"expected an integer or 'all', got {value!r}") from None


def _registered_parameters(registry_items: Callable[[], Iterable[Parameter]]) -> list[Parameter]:
    """Distinct parameters of the registered families or methods (none if a plugin fails to load: the CLI
    then reports the plugin's error before parsing any option, see ``_Group.main``)."""
    try:
        items = list(registry_items())
    except NoisebenchError:
        items = []
    return list({p.name: p for p in items}.values())


def _family_parameters() -> Iterable[Parameter]:
    from noisebench.noise.families import FAMILIES

    return (family.parameter for family in FAMILIES)


def _method_parameters() -> Iterable[Parameter]:
    from noisebench.methods import METHODS

    return (p for method in METHODS for p in method.hyper_parameters)


def _parameter_options(parameters: Iterable[Parameter], *, multiple: bool, owner: str) -> Callable:
    """One ``--<name>`` option per registered parameter (so a new family or method brings its own option)."""

    def decorate(command: Callable) -> Callable:
        for p in reversed(list(parameters)):
            what = f"{p.label} {p.bounds_text()}" + (f": {p.help}" if p.help else "")
            help_text = f"{what} ({owner}; repeat for several)" if multiple else f"{what} ({owner}; default: the method's)"
            command = click.option(f"--{p.name.replace('_', '-')}", f"param_{p.name}", type=float, multiple=multiple, default=() if multiple else None, help=help_text)(command)
        return command

    return decorate


def _given(values: dict[str, object]) -> dict[str, object]:
    """The ``param_*`` options the user gave, by parameter name."""
    return {k.removeprefix("param_"): v for k, v in values.items() if k.startswith("param_") and v not in (None, ())}


def _register_tasks_files(ctx: click.Context, param: click.Parameter, paths: tuple[Path, ...]) -> None:
    from noisebench.data.declared import register_tasks_file

    for path in paths:
        register_tasks_file(path)


def _tasks_file_option(command: Callable) -> Callable:
    """``--tasks-file FILE`` (repeatable): register the tasks a YAML file declares, before anything looks a task up."""
    return click.option(
        "--tasks-file", type=click.Path(path_type=Path, dir_okay=False), multiple=True, expose_value=False, is_eager=True,
        callback=_register_tasks_files, help="YAML file declaring your own tasks (data files or a hub dataset); repeat for several. See README 'Extending'.",
    )(command)


@main.command()
@_tasks_file_option
@click.option("--task", required=True, help="Task name, e.g. rt-polarity, sst2.")
@click.option("--family", default=None, help="Noise family (default: temperature, the paper's); see the README for the registered ones.")
@_parameter_options(_registered_parameters(_family_parameters), multiple=True, owner="the family's level")
@click.option("--target-rate", "target_rates", type=float, multiple=True, help="Solve the family's parameter so the expected noise rate is this; repeat for several.")
@click.option("--weak-fit", default=None, help="Weak model fit for families that use one: in-sample (default), held-out, cross-fit.")
@click.option("--weak-model", default=None, help="Weak labeller for families that use one (default: tfidf-logreg); see 'noisebench list weak-labellers'.")
@click.option("--weak-predictions", default=None, help="--weak-model predictions: CSV or Parquet with id and one prob_<label name> column per class.")
@click.option("--weak-encoder", default=None, help=f"--weak-model encoder-probe: the encoder (asset name, local path or hub id; default: {default('model')}).")
@click.option("--weak-option", "weak_option_pairs", multiple=True, metavar="KEY=VALUE", help="Any other option of the weak labeller; repeat for several.")
@click.option("--noise-seed", type=int, default=default("noise_seed") or 0, show_default=True)
@click.option("--data-seed", type=int, default=default("data_seed"), show_default=True, help="Order in which pool examples are relabelled.")
@click.option("--n-relabel", default="all", show_default=True, help="How many pool examples to relabel (int or 'all').")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Folder; one artifact per level is made under it.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="GLUE root in the canonical TSV layout.")
@click.option("--pool-from-dev", is_flag=True, help="Carve the train pool out of dev (for tasks with no train file).")
def generate(task, family, target_rates, weak_fit, weak_model, weak_predictions, weak_encoder, weak_option_pairs, noise_seed, data_seed, n_relabel, out_dir, data_dir, pool_from_dev, **levels) -> None:
    """Make noisy training sets (noise artifacts) for a task, one per level of the family's parameter.

    Run again after an interruption, the same command keeps the artifacts already made (intact, same
    settings and data) and makes the rest; any other folder under an artifact's name is refused.
    """
    from noisebench.data.tasks import get_task_spec, load_task
    from noisebench.noise.artifact import read_artifact
    from noisebench.noise.families import DEFAULT_FAMILY, TARGET_RATE, get_family
    from noisebench.noise.generate import NoiseSpec
    from noisebench.noise.generate import generate as generate_artifacts

    get_task_spec(task)
    noise_family = get_family(family or DEFAULT_FAMILY)
    given = _given(levels)
    param = noise_family.parameter.name
    wrong = sorted(set(given) - {param})
    if wrong:
        raise ConfigError(f"--{wrong[0]} does not apply to noise family {noise_family.name} (its parameter is --{param})")
    if param not in given and not target_rates:
        raise ConfigError(f"give at least one --{param} or --target-rate for noise family {noise_family.name}")
    levels = [(level, None) for level in given.get(param, ())] + [(rate, TARGET_RATE.name) for rate in target_rates]
    weak_options = _weak_options(weak_model, {"file": weak_predictions, "encoder": weak_encoder}, weak_option_pairs)
    specs = [
        NoiseSpec(noise_family.name, level, noise_seed, data_seed, _n_relabel(n_relabel), noise_param=kind, weak_fit=weak_fit, weak_model=weak_model, weak_options=weak_options)
        for level, kind in levels
    ]
    for spec in specs:  # validate before touching data or disk
        spec.validate(pool_size=sys.maxsize)
    outs = [out_dir / spec.folder_name() for spec in specs]
    if len(set(outs)) < len(outs):
        raise ConfigError(f"a level is listed twice: {', '.join(sorted(str(p.name) for p in outs))}")
    check_writable_dir(out_dir, option="--out")  # every output checked before any is written
    kept = {path for path in outs if path.exists() or path.is_symlink()}  # after an interruption: kept if the same artifact, else refused
    data = load_task(task, data_dir=data_dir, pool_from_dev=pool_from_dev)
    for path in generate_artifacts(data, specs, outs):
        meta = read_artifact(path).meta
        weak = meta.get("weak_model", {})
        level = ", ".join(f"{k} {v:.4g}" for k, v in meta["params"].items())
        click.echo(
            f"{path}\t{level}\trealised noise {meta['realized_noise_rate']:.3f}\texpected {meta['expected_noise_rate']:.3f}"
            + (f"\tweak model {weak['kind']} {weak['fit']}, dev acc {_accuracy(weak['dev_accuracy'])}" if weak else "")
            + ("\tkept (made by an earlier run)" if path in kept else "")
        )


_WEAK_OPTION_FLAGS = {"file": "--weak-predictions", "encoder": "--weak-encoder"}
"""Weak-labeller options that have their own flag on ``generate``; any other is ``--weak-option KEY=VALUE``."""


def _weak_options(weak_model: str | None, flagged: dict[str, str | None], pairs: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The weak labeller's options from the command line; a flag that the chosen labeller does not take is an error."""
    from noisebench.noise.weak import DEFAULT_WEAK_MODEL, get_labeller

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--weak-option expects KEY=VALUE, got {pair!r}")
        options[key.strip()] = value
    options.update({key: value for key, value in flagged.items() if value is not None})
    if options:
        labeller = get_labeller(weak_model or DEFAULT_WEAK_MODEL)
        takes = [option.name for option in labeller.options]
        for key in options:
            if key not in takes:
                flag = _WEAK_OPTION_FLAGS.get(key, f"--weak-option {key}")
                raise ConfigError(f"{flag} does not apply to weak labeller {labeller.name} ({'its options: ' + ', '.join(takes) if takes else 'it takes no options'})")
    return tuple(sorted(options.items()))


def _accuracy(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _executor_names() -> list[str]:
    """The registered executors (none if a plugin fails to load: the CLI then reports the plugin's error
    before parsing any option, see ``_Group.main``)."""
    try:
        return list(EXECUTORS.names())
    except NoisebenchError:
        return []


@main.command()
@_tasks_file_option
@click.option("--grid", "grid_file", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Run a YAML grid (experiments/*.yaml) instead of one run.")
@click.option("--jobs", type=int, default=1, show_default=True, help="Grid: parallel worker processes (local) or concurrent jobs (submitit local).")
@click.option("--shard", default=None, help="Grid: run only shard i/N (by run_id hash).")
@click.option("--executor", type=click.Choice(_executor_names()), default=None, help="Grid: a registered executor (see 'noisebench list executors'); default: the grid's executor.name, else local.")
@click.option("--cluster", type=click.Choice(["auto", "slurm", "local"]), default="auto", show_default=True, help="submitit cluster (auto: Slurm if available, else local processes).")
@click.option("--partition", default=None, help="Slurm partition, submitit only (overrides the grid's executor.partition).")
@click.option("--gpus-per-run", type=click.IntRange(min=1), default=None, help="Grid: data-parallel processes (GPUs) per run; submitit only (overrides executor.gpus_per_run).")
@click.option("--dry-run", is_flag=True, help="Grid: list what would run and what is done, then stop.")
@click.option("--report-to", multiple=True, type=click.Choice(tracker_names()), help="Also send each run's numbers to this tracker (repeatable; see 'noisebench list trackers').")
@click.option("--task", default=default("task"), show_default=True)
@click.option("--noise", "noise_dir", type=click.Path(path_type=Path, exists=True, file_okay=False), default=None, help="Noise artifact directory; omit for clean labels.")
@click.option("--method", default=PAPER_METHOD, show_default=True, help="Training method (registered name).")
@_parameter_options(_registered_parameters(_method_parameters), multiple=False, owner="method hyper-parameter")
@click.option("--n-train", type=int, default=default("n_train"), show_default=True)
@click.option("--data-seed", type=int, default=None, help="Defaults to the artifact's data seed, else 0.")
@click.option("--train-seed", type=int, default=default("train_seed"), show_default=True)
@click.option("--epochs", type=int, default=default("epochs"), show_default=True)
@click.option("--batch-size", type=int, default=default("batch_size"), show_default=True)
@click.option("--lr", type=float, default=default("lr"), show_default=True)
@click.option("--max-length", type=int, default=default("max_length"), show_default=True)
@click.option("--dev-limit", type=int, default=default("dev_limit"), help="Evaluate on the first k dev examples only.")
@click.option("--test-limit", type=int, default=default("test_limit"), help="Evaluate on the first k test examples only.")
@click.option("--save-embeddings", is_flag=True, help="Save the test set's [CLS] embeddings (for t-SNE).")
@click.option("--model", default=default("model"), show_default=True, help="Offline asset name, local path or hub id.")
@click.option("--init-from", default=default("init_from"), help="Start from another run's saved encoder (a new head): its run_id, its run directory or a saved model folder; relative paths are against --results. Default: the pre-trained --model.")
@click.option("--save-model", is_flag=True, help="Save the selected epoch's model and tokenizer in the run directory (model/), so other runs can --init-from it.")
@click.option("--selection", default=default("selection"), show_default=True, help="Which epoch is tested: best_dev (clean dev), best_noisy_dev (dev relabelled like the training labels), last_epoch, or a plugin's rule.")
@click.option("--patience", type=int, default=default("patience"), help="Stop after this many epochs without a better selection score (default: train every epoch).")
@click.option("--test-every-epoch", is_flag=True, help="Also evaluate the test set after every epoch, so every selection rule can be compared on this run.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
@click.option("--pool-from-dev", is_flag=True)
@click.option("--pooling", type=click.Choice(get_args(Pooling)), default=default("pooling"), show_default=True, help="Sentence features for the classifier and SCL: the first token ([CLS], the paper's) or the masked mean of token states.")
@click.option("--precision", type=click.Choice(["auto", *get_args(Precision)]), default="auto", show_default=True, help="Forward-pass precision; auto: bf16 on a CUDA device that supports it, else fp32 (the resolved value is recorded).")
@click.option("--results", "results_dir", type=click.Path(path_type=Path), required=True)
def train(grid_file, jobs, shard, executor, cluster, partition, gpus_per_run, dry_run, report_to, task, noise_dir, method, n_train, data_seed, train_seed, epochs, batch_size, lr, max_length, dev_limit, test_limit, save_embeddings, model, init_from, save_model, selection, patience, test_every_epoch, data_dir, pool_from_dev, pooling, precision, results_dir, **method_params) -> None:
    """Fine-tune once with a registered method (ce, ce-scl, ...), or a whole --grid, writing run directories under RESULTS/runs/."""
    if not dry_run:
        check_writable_dir(results_dir, option="--results")  # before any data, model or training work
        check_installed(report_to, option="--report-to")
    if grid_file is not None:
        _train_grid(grid_file, results_dir, jobs=jobs, shard=shard, executor=executor, cluster=cluster, partition=partition, gpus_per_run=gpus_per_run, dry_run=dry_run, data_dir=data_dir, report_to=report_to)
        return
    from noisebench.data.tasks import get_task_spec, task_label_names
    from noisebench.noise.artifact import read_artifact
    from noisebench.store.layout import is_done, run_path
    from noisebench.store.runs import resolve_init_from, write_done

    get_task_spec(task)
    artifact = read_artifact(noise_dir) if noise_dir is not None else None  # integrity checked here, before any training
    if artifact is not None:
        artifact.require_task(task)
    noise = artifact.run_fields() if artifact is not None else {"data_seed": 0}
    if data_seed is not None:
        noise["data_seed"] = data_seed
    if precision == "auto":
        from noisebench.train.distributed import auto_precision

        precision = auto_precision()
    config = RunConfig(
        task=task, model=model, n_train=n_train, method=method, method_params=_given(method_params), train_seed=train_seed,
        epochs=epochs, batch_size=batch_size, lr=lr, max_length=max_length, dev_limit=dev_limit, test_limit=test_limit,
        pool_from_dev=pool_from_dev, save_embeddings=save_embeddings, pooling=pooling, precision=precision,
        init_from=init_from, save_model=save_model, selection=selection, patience=patience, test_every_epoch=test_every_epoch, **noise,
    )
    if is_done(run_path(results_dir, config)):
        raise OutputError(f"run {run_path(results_dir, config)} already exists (same config); remove it to redo")
    from noisebench.train.encoder import check_model  # heavy imports (torch, transformers) after the cheap checks

    init_path = None if config.init_from is None else str(resolve_init_from(config.init_from, results_dir))
    num_labels = len(task_label_names(task, data_dir=data_dir, pool_from_dev=pool_from_dev))  # a declared task may name its classes only in its data
    check_model(config.model, num_labels, init_path)  # before training: a bad --model fails in seconds
    from noisebench.train.run import run_training

    output = run_training(config, noise_dir=noise_dir, data_dir=data_dir, results_dir=results_dir, report_to=report_to)
    if not output.writes:
        return  # a data-parallel run: rank 0 writes the run directory
    path = write_done(results_dir, config, output.metrics, output.test_embeddings, output.test_labels, model=output.model, logs=output.logs)
    m = output.metrics
    click.echo(f"{path}\ttest acc {m['test_accuracy']:.4f}\tdev acc {m['dev_accuracy']:.4f}\tnoise {m['realized_noise_rate']:.3f}\t{m['wall_time_s']:.0f}s")


def _train_grid(grid_file: Path, results_dir: Path, *, jobs: int, shard: str | None, executor: str | None, cluster: str, partition: str | None, gpus_per_run: int | None, dry_run: bool, data_dir: Path | None, report_to: tuple[str, ...]) -> None:
    from noisebench.grid.executors import resolve as resolve_executor
    from noisebench.grid.runner import parse_shard, plan, run_grid, select_shard
    from noisebench.grid.spec import expand, load_grid

    grid = load_grid(grid_file)
    configs = expand(grid)
    shard_spec = parse_shard(shard)
    if dry_run:
        from noisebench.grid.checks import check_unfinished

        check_unfinished(select_shard(configs, shard_spec), results_dir, data_dir=data_dir)  # the errors a real run would give
        listing = plan(select_shard(configs, shard_spec), results_dir)
        click.echo(listing.to_string(index=False))
        click.echo(f"{len(listing)} runs: " + ", ".join(f"{k} {v}" for k, v in listing["state"].value_counts().items()))
        return
    from noisebench.store.layout import results_table_path, traceback_path
    from noisebench.store.runs import resolve_init_from

    for init_from in sorted({c.init_from for c in configs} - {None}):
        resolve_init_from(init_from, results_dir)  # every source run is finished and saved its model, before any run starts
    if under_torchrun():
        check_options(jobs, executor)
    chosen, options = resolve_executor(executor, grid.executor, {"partition": partition, "gpus_per_run": gpus_per_run})
    check_installed(grid.training.report_to, option=f"{grid_file}: training.report_to")
    started = time.perf_counter()
    summary = run_grid(
        configs, results_dir, jobs=jobs, executor=chosen.name, shard=shard_spec, data_dir=data_dir,
        options=options, cluster=None if cluster == "auto" else cluster, report_to=tuple(dict.fromkeys([*grid.training.report_to, *report_to])), grid=grid.name,
    )
    counts = summary.counts()
    if is_lead_rank():
        click.echo(f"grid {grid.name}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + f" in {time.perf_counter() - started:.0f}s")
        click.echo(f"results table: {results_table_path(results_dir)}")
        for run_id in summary.failed:
            click.echo(f"failed: {traceback_path(results_dir, run_id)}", err=True)
    if summary.failed:
        sys.exit(1)


@main.command(name="list")
@_tasks_file_option
@click.argument("section", required=False, type=click.Choice(["tasks", "weak-labellers", "families", "methods", "selection", "executors", "trackers"]))
def list_registered(section: str | None) -> None:
    """What can be named in a command or grid: tasks, weak labellers, noise families, methods, selection rules, executors, trackers."""
    from noisebench.listing import SECTIONS

    chosen = {"families": "noise families", "weak-labellers": "weak labellers", "selection": "selection rules"}.get(section or "", section)
    for title, rows in SECTIONS.items():
        if chosen in (None, title):
            click.echo(f"{title}:")
            for name, what in rows():
                click.echo(f"  {name:<16} {what}")


@main.command()
@click.argument("results_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
def collect(results_dir: Path) -> None:
    """Rebuild RESULTS_DIR/results.parquet from the run directories alone (none finished: an error, nothing written)."""
    import pandas as pd

    from noisebench.store.layout import runs_root
    from noisebench.store.read import finished_runs
    from noisebench.store.table import write_results_table

    check_writable_dir(results_dir, option="RESULTS_DIR")
    if not finished_runs(results_dir):  # an empty table would look like a result; any old table stays as it was
        raise DataError(f"no finished runs in {results_dir} (no run folder with a DONE marker under {runs_root(results_dir)})")
    path = write_results_table(results_dir)
    click.echo(f"{path}\t{len(pd.read_parquet(path))} runs")


def _finished_table(results_dir: Path):
    """The results table for analysis: one row per finished run and, for runs that evaluated the test set
    every epoch, one per other selection rule (:func:`~noisebench.store.table.expand_selections`)."""
    from noisebench.store.table import collect_table, expand_selections

    table = collect_table(results_dir)
    if table.empty:
        raise DataError(f"no finished runs in {results_dir}")
    return expand_selections(table)


@main.command()
@click.option("--results", "results_dir", type=click.Path(path_type=Path, exists=True, file_okay=False), required=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="A .png, .pdf or .svg file for the headline figure (in that format only), or a folder for every figure (PNG and PDF).")
@click.option("--x", "x_axis", type=click.Choice(["level", "realised"]), default="level", show_default=True, help="Headline figure's x-axis: the noise level, or the mean realised noise rate (levels as labels).")
@click.option("--overwrite", is_flag=True, help="Replace existing figures.")
def plot(results_dir: Path, out: Path, x_axis: str, overwrite: bool) -> None:
    """Accuracy against noise level per method (mean and 95% interval over seeds), or every figure."""
    from noisebench.analysis.figures import FIGURE_FORMATS, accuracy_figure, plot_all, save_figure_as
    from noisebench.outputs import check_figure_out
    from noisebench.store.table import collect_history

    single = check_figure_out(out, formats=FIGURE_FORMATS, overwrite=overwrite)
    table = _finished_table(results_dir)
    try:
        paths = save_figure_as(accuracy_figure(table, x=x_axis), [out]) if single else plot_all(table, collect_history(results_dir), results_dir, out)
    except ValueError as error:  # the analysis library's word for a table it cannot use
        raise DataError(str(error)) from error
    for path in paths:
        click.echo(path)


@main.command()
@click.option("--results", "results_dir", type=click.Path(path_type=Path, exists=True, file_okay=False), required=True)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="Report file to write; its suffix picks the format: .md (Markdown), .html (one self-contained page), .tex (LaTeX, booktabs).")
@click.option("--figures", "figures_dir", type=click.Path(path_type=Path, file_okay=False), default=None, help="Also make every figure here and link it (default: a folder next to --out).")
@click.option("--overwrite", is_flag=True, help="Replace an existing report and its figures.")
def report(results_dir: Path, out: Path, figures_dir: Path | None, overwrite: bool) -> None:
    """Report (Markdown, HTML or LaTeX): set-up, what noise costs, paired statistics per cell, figures, the paper."""
    from noisebench.analysis.report import REPORT_WRITERS, write_report
    from noisebench.outputs import check_writable_dir, check_writable_file, refuse_existing
    from noisebench.store.table import collect_history

    if out.suffix.lower() not in REPORT_WRITERS:
        raise click.BadParameter(f"{out.name!r}: the suffix must be one of {', '.join(REPORT_WRITERS)}", param_hint="--out")
    check_writable_file(out, option="--out", overwrite=overwrite)
    figures_dir = figures_dir or out.parent / f"{out.stem}-figures"
    check_writable_dir(figures_dir, option="--figures")
    refuse_existing([figures_dir] if figures_dir.is_dir() and any(figures_dir.iterdir()) else [], overwrite=overwrite, option="--figures")
    table = _finished_table(results_dir)
    try:
        path = write_report(table, collect_history(results_dir), results_dir, out, figures_dir=figures_dir)
    except ValueError as error:  # the analysis library's word for a table it cannot use
        raise DataError(str(error)) from error
    click.echo(path)


@main.command()
@click.option("--results", "results_dir", type=click.Path(path_type=Path), default=Path("results/demo"), show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("results/demo/accuracy-vs-noise.png"), show_default=True, help="The demo's figure (replaced on every demo run; untracked, so the demo leaves git status clean).")
@click.option("--jobs", type=int, default=min(2, os.cpu_count() or 1), show_default=True, help="Parallel worker processes.")
def demo(results_dir: Path, out: Path, jobs: int) -> None:
    """The offline default end to end: generate → train (CE and CE+SCL, clean and two noise rates, 3 seed sets) → plot."""
    from noisebench.analysis.figures import plot_accuracy_vs_noise
    from noisebench.demo import demo_configs
    from noisebench.grid.runner import run_grid
    from noisebench.outputs import check_writable_dir
    from noisebench.store.layout import results_table_path

    check_writable_dir(results_dir, option="--results")
    check_writable_dir(out.parent, option="--out")
    started = time.perf_counter()
    summary = run_grid(demo_configs(), results_dir, jobs=jobs)
    paths = plot_accuracy_vs_noise(_finished_table(results_dir), out.with_suffix(""), x="realised")
    click.echo(f"runs: {dict(summary.counts())}; wall time {time.perf_counter() - started:.0f}s")
    click.echo(f"results table: {results_table_path(results_dir)}")
    click.echo(f"plot: {paths[0]}")
    if summary.failed:
        raise click.ClickException(f"{len(summary.failed)} runs failed; see {results_dir}/runs/*/traceback.txt")
