"""What is registered: tasks, weak labellers, noise families, methods, selection rules and executors, as rows to print."""

from __future__ import annotations

from noisebench.parameters import Parameter


def _parameter(p: Parameter) -> str:
    default = "" if p.default is None else f", default {p.default:g}"
    return f"{p.name} ({p.symbol}) in {p.bounds_text()}{default}"


def task_rows() -> list[tuple[str, str]]:
    """``(name, what it is)``: classes, single or pair, where the data comes from, sizes where known."""
    from noisebench.data.tasks import TASKS

    rows = []
    for spec in TASKS:
        classes = f"{len(spec.label_names)} classes ({', '.join(spec.label_names)})" if spec.label_names else "classes from its data"
        rows.append((spec.name, f"{classes}; {'sentence pairs' if spec.is_pair else 'single sentences'}; {spec.source}. {spec.description}"))
    return rows


def weak_labeller_rows() -> list[tuple[str, str]]:
    from noisebench.noise.weak import DEFAULT_WEAK_MODEL, WEAK_LABELLERS

    rows = []
    for labeller in WEAK_LABELLERS:
        options = "; ".join(
            f"{o.name}: {o.help}" + (" (default: the run's model)" if o.defaults_to_run_model else f" (default {o.default})" if o.default else "")
            for o in labeller.options
        )
        default = " [default]" if labeller.name == DEFAULT_WEAK_MODEL else ""
        rows.append((labeller.name, f"{labeller.description}{default}" + (f". Options: {options}" if options else "")))
    return rows


def family_rows() -> list[tuple[str, str]]:
    from noisebench.noise.families import FAMILIES

    return [
        (f.name, f"{f.description}; parameter {_parameter(f.parameter)}" + ("; uses a weak labeller" if f.needs_weak_model else ""))
        for f in FAMILIES
    ]


def method_rows() -> list[tuple[str, str]]:
    from noisebench.methods import METHODS

    return [
        (m.name, m.description + ("; " + ", ".join(_parameter(p) for p in m.hyper_parameters) if m.hyper_parameters else ""))
        for m in METHODS
    ]


def executor_rows() -> list[tuple[str, str]]:
    from noisebench.grid.executors import EXECUTORS

    rows = []
    for executor in EXECUTORS:
        options = [f"{name} (default {field.default})" for name, field in executor.Options.model_fields.items() if name != "name"]
        rows.append((executor.name, f"{executor.description}. Options: {', '.join(options)}"))
    return rows


def selection_rows() -> list[tuple[str, str]]:
    from noisebench.selection import SELECTION_RULES

    return [(rule.name, f"{rule.description} (reads {', '.join(rule.needs)})") for rule in SELECTION_RULES]


def tracker_rows() -> list[tuple[str, str]]:
    from noisebench.trackers import TRACKERS

    return [(tracker.name, f"{tracker.description} (pip install 'noisebench[{tracker.extra}]')") for tracker in TRACKERS]


SECTIONS = {
    "tasks": task_rows, "weak labellers": weak_labeller_rows, "noise families": family_rows,
    "methods": method_rows, "selection rules": selection_rows, "executors": executor_rows, "trackers": tracker_rows,
}
"""Section title -> its rows, in the order ``noisebench list`` prints them."""
