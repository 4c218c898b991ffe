"""Client-side pacing under HubSpot's rolling window."""

from __future__ import annotations

from hubspot_courses.ratelimit import RollingWindowLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_limiter_never_admits_more_than_allowance_per_window():
    clock = FakeClock()
    limiter = RollingWindowLimiter(10, 10.0, clock=clock, sleep=clock.sleep)
    admitted = []
    for _ in range(40):
        limiter.acquire()
        admitted.append(clock.now)
    for index, moment in enumerate(admitted):
        in_window = [m for m in admitted[: index + 1] if m > moment - 10.0]
        assert len(in_window) <= 9
    assert clock.now >= 30.0


def test_limiter_learns_limit_and_foreign_usage_from_headers():
    clock = FakeClock()
    limiter = RollingWindowLimiter(100, 10.0, clock=clock, sleep=clock.sleep)
    limiter.observe(
        {
            "X-HubSpot-RateLimit-Max": "5",
            "X-HubSpot-RateLimit-Remaining": "1",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "2000",
        }
    )
    assert limiter.max_requests == 5
    assert limiter.interval == 2.0
    limiter.acquire()
    assert clock.now >= 2.0


def test_limiter_block_for_holds_requests_back():
    clock = FakeClock()
    limiter = RollingWindowLimiter(100, 10.0, clock=clock, sleep=clock.sleep)
    limiter.block_for(3.0)
    limiter.acquire()
    assert clock.now >= 3.0
