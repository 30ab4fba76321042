"""Datasets: the embedded procedural benchmark, the ScanRefer/ScanNet loader and their shared format."""
