from __future__ import annotations

import threading

import pytest

from airflow_provider_zendesk_jobs.testing import ManualClock, ScaledClock
from airflow_provider_zendesk_jobs.testing.clock import DEFAULT_START, Clock


def test_manual_clock_moves_only_when_advanced():
    clock = ManualClock(start=100.0)
    assert clock.now() == 100.0
    assert clock.now() == 100.0
    assert clock.advance(2.5) == 102.5
    assert clock.now() == 102.5
    assert ManualClock().now() == DEFAULT_START
    assert isinstance(clock, Clock)


@pytest.mark.parametrize("step", [-1.0, float("nan"), float("inf")])
def test_clocks_refuse_to_go_back_or_jump_to_infinity(step):
    with pytest.raises(ValueError, match="forward"):
        ManualClock().advance(step)
    with pytest.raises(ValueError, match="forward"):
        ScaledClock().advance(step)


def test_manual_clock_is_thread_safe():
    clock = ManualClock(start=0.0)

    def bump():
        for _ in range(1000):
            clock.advance(1.0)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.now() == 4000.0


def test_scaled_clock_starts_at_the_given_time_and_advance_adds_an_offset():
    clock = ScaledClock(speed=1000.0, start=5_000.0)
    first = clock.now()
    assert first >= 5_000.0
    jumped = clock.advance(3600.0)
    assert jumped >= first + 3600.0
    assert clock.now() >= jumped
    assert isinstance(clock, Clock)
    assert "ScaledClock" in repr(clock)


def test_scaled_clock_needs_a_positive_speed():
    with pytest.raises(ValueError, match="speed"):
        ScaledClock(speed=0)
