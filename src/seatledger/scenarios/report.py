"""The readable report of a scenario run: a line per step with a check mark or its failures, and a
summary line.

Lines are ``rich.text.Text``, never console markup: scenario names, e-mails and failures such as
``invoice.lines: expected [seats x1 99.00], got [...]`` carry square brackets that markup would
swallow. Styles (green, red, bold) disappear when the output is not a terminal.

Example::

    ✓ add a seat mid-cycle (add.yaml)
      ✓  1. 2026-04-01 00:00  subscribe  charged 99.00
      ✗  2. 2026-04-16 00:00  add_seats  charged 49.50
           charged: expected 50.00, got 49.50
    0 of 1 scenarios passed, 1 of 2 steps failed
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.text import Text

from seatledger.scenarios.runner import ScenarioOutcome, StepOutcome

PASSED = "✓"
FAILED = "✗"


def _mark(ok: bool) -> Text:
    return Text(PASSED, style="green") if ok else Text(FAILED, style="red")


def _instant(at: datetime) -> str:
    # Seconds are shown only when there are some: most scenario steps fall on whole minutes.
    return f"{at:%Y-%m-%d %H:%M}" + (f":{at:%S}" if at.second else "")


def step_text(step: StepOutcome) -> Text:
    """One step: its mark, number, instant, action (and the refusal it met), what it charged and
    credited; then one indented line per failed expectation."""
    line = Text("  ")
    line.append_text(_mark(step.ok))
    line.append(f" {step.index:>2}. {_instant(step.at)}  {step.action or 'time passes'}")
    if step.error:
        line.append(f" → {step.error}")
    line.append(f"  charged {step.charged.format()}")
    if not step.credited.is_zero:
        line.append(f"  credited {step.credited.format()}")
    for failure in step.failures:
        line.append("\n       ")
        line.append(failure, style="red")
    return line


def outcome_text(outcome: ScenarioOutcome) -> Text:
    """A scenario: a heading line (mark, name, file), then each step's lines."""
    text = _mark(outcome.ok)
    text.append(" ")
    text.append(outcome.name, style="bold")
    text.append(f" ({outcome.file})")
    for step in outcome.steps:
        text.append("\n")
        text.append_text(step_text(step))
    return text


def summary_text(outcomes: Sequence[ScenarioOutcome]) -> Text:
    """``3 of 3 scenarios passed (21 steps)``, or how many scenarios and steps failed."""
    passed = sum(o.ok for o in outcomes)
    steps = [s for o in outcomes for s in o.steps]
    failed = sum(not s.ok for s in steps)
    if failed:
        return Text(
            f"{passed} of {len(outcomes)} scenarios passed, {failed} of {len(steps)} steps failed",
            style="red",
        )
    return Text(f"{passed} of {len(outcomes)} scenarios passed ({len(steps)} steps)", style="green")
