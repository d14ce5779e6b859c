"""Benchmarks of the event backbone: run on demand, they report numbers and assert nothing."""
