"""Benchmarks: the engine against raw SQL doing the same writes, measured in the same run.

Run with ``make bench`` (or ``python -m bench``); see docs/performance.md.
"""
