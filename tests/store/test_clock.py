"""The clocks, and the rule that only ``seatledger/clock.py`` reads the wall clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from seatledger.clock import ManualClock, SystemClock
from seatledger.domain.errors import InvalidInput

SRC = Path(__file__).resolve().parents[2] / "src" / "seatledger"
CLOCK_MODULE = SRC / "clock.py"
# Reading the wall clock: datetime.now(...), datetime.utcnow(), date/datetime.today(),
# time.time() / time.time_ns(). ``clock.now()`` (an injected clock) is what code should call.
WALL_CLOCK = re.compile(r"\bdatetime\.now\(|\butcnow\(|\btoday\(|\btime\.time(_ns)?\(")
START = datetime(2026, 4, 1, tzinfo=UTC)


def test_manual_clock_starts_at_the_given_instant_in_utc() -> None:
    paris = timezone(timedelta(hours=2))
    clock = ManualClock(datetime(2026, 4, 1, 2, 0, tzinfo=paris))
    assert clock.now() == START
    assert clock.now().utcoffset() == timedelta(0)


def test_manual_clock_refuses_a_naive_start() -> None:
    with pytest.raises(InvalidInput) as refused:
        ManualClock(datetime(2026, 4, 1))  # noqa: DTZ001 - the naive instant is the point
    assert refused.value.field == "start"


def test_advance_moves_forward_by_the_delta() -> None:
    clock = ManualClock(START)
    assert clock.advance(timedelta(days=15)) == datetime(2026, 4, 16, tzinfo=UTC)
    assert clock.advance(timedelta(0)) == datetime(2026, 4, 16, tzinfo=UTC)
    assert clock.now() == datetime(2026, 4, 16, tzinfo=UTC)


def test_advance_refuses_to_go_back() -> None:
    clock = ManualClock(START)
    with pytest.raises(InvalidInput) as refused:
        clock.advance(timedelta(seconds=-1))
    assert refused.value.field == "delta"
    assert clock.now() == START


def test_move_to_goes_forward_or_stays() -> None:
    clock = ManualClock(START)
    assert clock.move_to(datetime(2026, 5, 1, tzinfo=UTC)) == datetime(2026, 5, 1, tzinfo=UTC)
    assert clock.move_to(datetime(2026, 5, 1, tzinfo=UTC)) == datetime(2026, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC), id="one-second-back"),
        pytest.param(datetime(2026, 4, 1, tzinfo=UTC) - timedelta(microseconds=1), id="1us-back"),
        pytest.param(datetime(2026, 4, 1), id="naive"),  # noqa: DTZ001
    ],
)
def test_move_to_refuses_the_past_and_naive_instants(target: datetime) -> None:
    clock = ManualClock(START)
    with pytest.raises(InvalidInput) as refused:
        clock.move_to(target)
    assert refused.value.field == "at"
    assert clock.now() == START


def test_system_clock_tells_an_aware_utc_instant() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC


@pytest.mark.parametrize(
    ("line", "reads_wall_clock"),
    [
        ("at = datetime.now(UTC)", True),
        ("at = datetime.datetime.now()", True),
        ("at = datetime.utcnow()", True),
        ("on = date.today()", True),
        ("t = time.time()", True),
        ("t = time.time_ns()", True),
        ("at = clock.now()", False),
        ("at = self._clock.now()", False),
        ("elapsed = time.monotonic()", False),
    ],
)
def test_the_wall_clock_pattern_knows_a_clock_read_when_it_sees_one(
    line: str, reads_wall_clock: bool
) -> None:
    assert bool(WALL_CLOCK.search(line)) is reads_wall_clock


def test_only_the_clock_module_reads_the_wall_clock() -> None:
    modules = [p for p in SRC.rglob("*.py") if p != CLOCK_MODULE]
    assert modules, f"no sources found under {SRC}"
    offenders = [
        f"{path.relative_to(SRC.parent)}:{number}: {line.strip()}"
        for path in modules
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if WALL_CLOCK.search(line)
    ]
    assert offenders == [], "read the time through an injected Clock instead:\n" + "\n".join(
        offenders
    )
    assert WALL_CLOCK.search(CLOCK_MODULE.read_text(encoding="utf-8"))
