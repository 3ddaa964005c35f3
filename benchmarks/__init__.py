"""Benchmark scripts (run as ``python benchmarks/NAME.py``) and the readers of public benchmark
instance formats they and the tests share (``benchmarks.formats``)."""
