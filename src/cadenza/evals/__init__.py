"""Benchmark runners (IFEval, ...), their reports and plots."""
