"""Experiments: runs keyed by config hash, grids, notebook parameters, tables, the microscope, the results index,
papermill, benchmarks."""
