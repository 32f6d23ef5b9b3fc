"""Benchmarks: run with `python -m bench.<name>` (see docs/BENCHMARKS.md)."""
