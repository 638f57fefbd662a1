"""Scenario files: timelines of seat and billing events with expectations (SCENARIOS.md)."""
