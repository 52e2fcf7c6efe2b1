"""Benchmarks for activekv (run from the repository root: ``python -m benchmarks.<name>``)."""
