"""Benchmarks: each measures against a named peer or floor in the same run."""
