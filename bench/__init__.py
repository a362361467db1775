"""Benchmarks that print measured figures; results are recorded in bench/RESULTS.md."""
