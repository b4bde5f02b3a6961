"""Error types that the CLI turns into one clear line on stderr and a non-zero exit."""


class NoisebenchError(Exception):
    """Base class for errors caused by bad input, bad files or a broken environment."""


class DataError(NoisebenchError, ValueError):
    """A data file, task name or split is missing, malformed or inconsistent."""


class AssetError(NoisebenchError):
    """An offline asset could not be fetched, verified or extracted."""


class ConfigError(NoisebenchError, ValueError):
    """A configuration value is out of range or of the wrong type."""
