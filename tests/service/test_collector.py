"""``fewer_collections``: the young generation's threshold raised for a block of batch work and
put back after it, however many threads or nested runs share the raise; and ``tune_for_serving``,
a serving process's start-up frozen and its threshold raised for good."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from seatledger.service.collector import (
    SERVING_YOUNG_THRESHOLD,
    fewer_collections,
    tune_for_serving,
)


@pytest.fixture(autouse=True)
def usual_threshold() -> Iterator[tuple[int, int, int]]:
    """The process's thresholds as a test starts, set to known values and restored after."""
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield (700, 10, 10)
    gc.unfreeze()
    gc.set_threshold(*before)


def test_the_young_threshold_is_raised_within_and_restored_after() -> None:
    with fewer_collections(50_000):
        assert gc.get_threshold() == (50_000, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_it_is_restored_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), fewer_collections(50_000):
        raise RuntimeError("a batch refused")
    assert gc.get_threshold() == (700, 10, 10)


def test_a_threshold_already_higher_or_switched_off_is_left_alone() -> None:
    gc.set_threshold(90_000, 10, 10)
    with fewer_collections(50_000):
        assert gc.get_threshold() == (90_000, 10, 10)
    gc.set_threshold(0, 10, 10)
    with fewer_collections(50_000):
        assert gc.get_threshold() == (0, 10, 10)
    assert gc.get_threshold() == (0, 10, 10)


def test_nested_blocks_restore_only_when_the_outermost_ends() -> None:
    with fewer_collections(20_000):
        with fewer_collections(50_000):
            assert gc.get_threshold()[0] == 50_000
        # The inner block's end leaves the raise in place for the outer one.
        assert gc.get_threshold()[0] == 50_000
    assert gc.get_threshold() == (700, 10, 10)


def test_two_threads_overlapping_restore_the_threshold_from_before_both() -> None:
    """Guards against the first run to finish putting back 700 while another is still running,
    or the last one putting back the raise it found when it started."""
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, int] = {}

    def first() -> None:
        with fewer_collections(30_000):
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with fewer_collections(40_000):
            second_in.set()
            first_out.wait(5)
            seen["after the first left"] = gc.get_threshold()[0]

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == {"after the first left": 40_000}
    assert gc.get_threshold() == (700, 10, 10)


def test_serving_freezes_what_the_process_holds_and_keeps_the_threshold_raised() -> None:
    held_since_start_up = {"a": [1, 2, 3]}  # a container the collector tracks
    tune_for_serving()
    assert gc.get_freeze_count() > 0
    assert not any(held_since_start_up is o for o in gc.get_objects())  # out of every walk
    assert gc.get_threshold() == (SERVING_YOUNG_THRESHOLD, 10, 10)
    # A billing run in the serving process ends with the serving threshold, not CPython's.
    with fewer_collections(SERVING_YOUNG_THRESHOLD * 2):
        assert gc.get_threshold()[0] == SERVING_YOUNG_THRESHOLD * 2
    assert gc.get_threshold() == (SERVING_YOUNG_THRESHOLD, 10, 10)


def test_serving_leaves_a_higher_threshold_or_the_collector_off_alone() -> None:
    gc.set_threshold(SERVING_YOUNG_THRESHOLD * 2, 10, 10)
    tune_for_serving()
    assert gc.get_threshold()[0] == SERVING_YOUNG_THRESHOLD * 2
    gc.set_threshold(0, 10, 10)
    tune_for_serving()
    assert gc.get_threshold()[0] == 0


@pytest.mark.parametrize("run_threshold", [30_000, SERVING_YOUNG_THRESHOLD * 2])
def test_a_run_under_way_when_serving_starts_restores_the_serving_threshold(
    run_threshold: int,
) -> None:
    with fewer_collections(run_threshold):
        tune_for_serving()
        assert gc.get_threshold()[0] == max(run_threshold, SERVING_YOUNG_THRESHOLD)
    assert gc.get_threshold() == (SERVING_YOUNG_THRESHOLD, 10, 10)
