"""Error types that the CLI turns into one clear line on stderr and exit status 2.

One type per kind of bad input or fault, each raised where that input is first read (the boundary):

- :class:`ConfigError`: a run or grid value out of range or of the wrong type (``schema.RunConfig``).
- :class:`DataError`: a data file, task name or split that is missing, malformed or too small.
- :class:`ArtifactError`: a noise artifact whose files disagree with each other or with the task's data.
- :class:`AssetError`: an offline asset that cannot be fetched, verified or extracted (or a damaged cache).
- :class:`ModelError`: an encoder that cannot be loaded (asset, local folder or hub id).
- :class:`OutputError`: an output that cannot be written, or that exists and may not be replaced.
- :class:`RunFileError`: a run directory's files (config.json, metrics.json) are unreadable or malformed.
- :class:`DivergedError`: a training run that is not sound (a non-finite loss, or a loss whose gradient is zero).
- :class:`WorkerDiedError`: a grid worker process was killed or crashed (the grid resumes when run again).
"""


class NoisebenchError(Exception):
    """Base class for errors caused by bad input, bad files or a broken environment."""


class DataError(NoisebenchError, ValueError):
    """A data file, task name or split is missing, malformed, inconsistent or too small."""


class ArtifactError(DataError):
    """A noise artifact is malformed or its files disagree (with each other, or with the task's data)."""


class AssetError(NoisebenchError):
    """An offline asset could not be fetched, verified or extracted, or its cached copy is damaged."""


class ModelError(NoisebenchError):
    """A model could not be loaded: says what was tried (offline asset, local folder, hub id) and why it failed."""


class ConfigError(NoisebenchError, ValueError):
    """A configuration value is out of range or of the wrong type."""


class OutputError(NoisebenchError):
    """An output path cannot be written (a file where a folder is needed, no permission) or already exists."""


class RunFileError(DataError):
    """A run directory's config.json or metrics.json is unreadable or holds a value of the wrong type."""


class DivergedError(NoisebenchError):
    """A training run is not sound: its loss became NaN or infinite, or does not depend on the parameters
    (a zero gradient on the first batch); such a run is failed, never published (``train.callbacks.Soundness``)."""


class WorkerDiedError(NoisebenchError):
    """A grid worker process died mid-run (killed by the OS, out of memory, a crash in native code): the runs it
    held are neither DONE nor FAILED, their claims turn stale, and the same command resumes the grid."""
