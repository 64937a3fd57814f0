"""Runnable benchmarks (``python -m benches.<name> --json``) and pytest-benchmark suites."""
