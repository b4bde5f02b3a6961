"""Experiment grids: ``experiments/*.yaml`` specs, validated and expanded into per-run configs."""
