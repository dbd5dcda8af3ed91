"""Benchmarks: figures printed next to their targets, with a same-run baseline."""
