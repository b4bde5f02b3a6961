"""The results folder: the one owner of its layout, run folders, markers, readers and the results table.

- :mod:`~noisebench.store.layout`: where things live (``runs/``, ``noise/``, ``results.parquet``,
  run folders, claim locks, file and marker names) and what the markers say.
- :mod:`~noisebench.store.runs`: publishing a run (DONE or FAILED, atomically) and resolving ``init_from``.
- :mod:`~noisebench.store.read`: validated reads of a run's files and of a noise artifact's noise.json.
- :mod:`~noisebench.store.rows`: a run's config as one table row (legacy keys mapped).
- :mod:`~noisebench.store.table`: the tidy results table, the per-epoch history, ``results.parquet``.

train and grid write and read through here; analysis reads through here and never opens a run file
by name. Nothing here imports train, grid, analysis or the CLI.
"""
