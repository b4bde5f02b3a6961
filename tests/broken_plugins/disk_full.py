"""A "plugin" that simulates a full disk while a fine-tuned model is saved (``--save-model``)."""

import errno
import os

from noisebench.train.encoder import FineTuned


def _save_on_a_full_disk(self: FineTuned, folder: os.PathLike) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


FineTuned.save = _save_on_a_full_disk
