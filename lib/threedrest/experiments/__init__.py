"""Experiments: runs keyed by config hash, grids, tables, the results index, papermill, benchmarks."""
