"""Noise from a user-given transition matrix M (rows = clean, columns = noisy), mixed with the identity.

The family's parameter is the mixing weight w in [0, 1]: an example of clean class i gets noisy label j
with probability ``P[i, j] = (1 - w)·δ_ij + w·M[i, j]``, so w = 0 is clean and w = 1 is the file's matrix.
The expected noise rate is ``w · mean_i(1 - M[y_i, y_i])`` (exact), so a target rate has a closed form.

How a matrix reaches the registry: one family instance per matrix file, registered under its own name
by :func:`register_matrix_file` from a plugin module (the registry holds instances and a run config has
no free-form field, so the file is bound once, where it is named, and every artifact and run refers to it
by that name). A one-line plugin::

    # my_noise.py (on PYTHONPATH; run with NOISEBENCH_PLUGINS=my_noise, so grid workers load it too)
    from pathlib import Path
    from noisebench.noise.families.matrix import register_matrix_file
    register_matrix_file(Path(__file__).parent / "flip.yaml")   # family "matrix-flip"

then ``noisebench generate --family matrix-flip --weight 0.5`` or ``--target-rate 0.2``. The file holds
the rows, as a JSON/YAML list of lists or under a ``matrix`` key::

    matrix:          # 3 classes: class 0 is often taken for class 1, class 2 never errs
      - [0.6, 0.4, 0.0]
      - [0.1, 0.9, 0.0]
      - [0.0, 0.0, 1.0]
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from noisebench.errors import ConfigError
from noisebench.noise.families.base import NoiseFamily, NoiseInputs
from noisebench.parameters import Parameter

ROW_SUM_TOLERANCE = 1e-6


def load_transition_matrix(path: Path | str) -> np.ndarray:
    """The validated ``[K, K]`` matrix of a ``.json``, ``.yaml`` or ``.yml`` file; ConfigError naming the problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"transition matrix {path}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from exc
    suffix = path.suffix.lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise ConfigError(f"transition matrix {path}: expected a .json, .yaml or .yml file")
    try:
        content = json.loads(text) if suffix == ".json" else _yaml_load(text)
    except ValueError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"transition matrix {path}: not valid {'JSON' if suffix == '.json' else 'YAML'}: {first_line}") from exc
    return check_transition_matrix(content.get("matrix") if isinstance(content, dict) else content, source=str(path))


def check_transition_matrix(rows: object, *, source: str = "transition matrix") -> np.ndarray:
    """``rows`` as a float64 ``[K, K]`` array: square, K >= 2, finite, non-negative, each row summing to 1."""
    if not isinstance(rows, list) or not rows or not all(isinstance(row, list) for row in rows):
        raise ConfigError(f"{source}: expected a list of rows (a list of lists of numbers), got {type(rows).__name__}")
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for row in rows for v in row):
        raise ConfigError(f"{source}: every entry must be a number")
    k = len(rows)
    bad_row = next((i for i, row in enumerate(rows) if len(row) != k), None)
    if bad_row is not None:
        raise ConfigError(f"{source}: must be square: {k} rows but row {bad_row} has {len(rows[bad_row])} entries")
    if k < 2:
        raise ConfigError(f"{source}: needs at least 2 classes, got {k}")
    matrix = np.asarray(rows, dtype=np.float64)
    if not np.isfinite(matrix).all() or (matrix < 0).any():
        raise ConfigError(f"{source}: entries must be finite and >= 0")
    sums = matrix.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_TOLERANCE)
    if off.size:
        raise ConfigError(f"{source}: row {off[0]} (clean class {off[0]}) sums to {sums[off[0]]:.8g}, not 1 (±{ROW_SUM_TOLERANCE:g})")
    return matrix


class MatrixFamily(NoiseFamily):
    """``P = (1 - w)·I + w·M`` for one matrix ``M``; registered per matrix under its own ``name``."""

    parameter = Parameter("weight", "w", "matrix weight w", low=0.0, high=1.0)

    def __init__(self, matrix: np.ndarray, *, name: str, source: str = "") -> None:
        self.matrix = check_transition_matrix(np.asarray(matrix, dtype=np.float64).tolist(), source=source or name)
        self.name = name  # type: ignore[misc]  # an instance per matrix, unlike the one-instance families
        self.source = source
        self.description = f"P = (1-w)·I + w·M, M from {source or 'a given matrix'} ({len(self.matrix)} classes)"  # type: ignore[misc]

    def probabilities(self, inputs: NoiseInputs, level: float) -> np.ndarray:
        self._check_classes(inputs)
        return mixed_probabilities(self.matrix, inputs.clean, level)

    def level_for_rate(self, inputs: NoiseInputs, rate: float) -> float | None:
        """``w = rate / mean_i(1 - M[y_i, y_i])``; a ConfigError if no w in [0, 1] reaches ``rate``."""
        self._check_classes(inputs)
        return share_for_rate(rate, float(np.mean(1.0 - self.matrix[inputs.clean, inputs.clean])) if len(inputs.clean) else 0.0, self.name, "weight")

    def check_classes(self, num_labels: int) -> None:
        if len(self.matrix) != num_labels:
            raise ConfigError(f"noise family {self.name}: its matrix has {len(self.matrix)} classes but the task has {num_labels}")

    def _check_classes(self, inputs: NoiseInputs) -> None:
        self.check_classes(inputs.num_labels)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MatrixFamily) and self.name == other.name and np.array_equal(self.matrix, other.matrix)

    def __hash__(self) -> int:
        return hash((type(self), self.name))


def mixed_probabilities(matrix: np.ndarray, clean: np.ndarray, weight: float) -> np.ndarray:
    """``[n, K]``: row i is ``(1 - w)·e_{y_i} + w·M[y_i]``, the clean label kept with weight 1 - w."""
    mixed = (1.0 - weight) * np.eye(len(matrix)) + weight * matrix
    return mixed[clean]


def share_for_rate(rate: float, full: float, family: str, parameter: str) -> float:
    """The mixing share whose expected rate is ``rate`` when share 1 gives ``full`` (the rate is linear in
    the share); a ConfigError naming the reachable range if ``rate`` is above ``full``."""
    if rate == 0.0:
        return 0.0
    if full <= 0.0 or rate > full * (1.0 + 1e-12):
        raise ConfigError(
            f"target_rate {rate:g} is out of reach for noise family {family} on these examples: "
            f"its expected rate spans [0, {full:.4f}] for {parameter} in [0, 1]"
        )
    return min(rate / full, 1.0)


def register_matrix_file(path: Path | str, *, name: str | None = None) -> MatrixFamily:
    """Load, validate and register the matrix in ``path`` as family ``name`` (default ``matrix-<file stem>``)."""
    from noisebench.noise.families import register_family  # the registry imports this module's siblings

    path = Path(path)
    family = MatrixFamily(load_transition_matrix(path), name=name or f"matrix-{path.stem}", source=str(path))
    register_family(family)
    return family


def _yaml_load(text: str) -> object:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from exc


__all__ = ["MatrixFamily", "check_transition_matrix", "load_transition_matrix", "mixed_probabilities", "register_matrix_file", "share_for_rate"]
