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


def test_booking_outlasts_the_window_so_a_faster_request_cannot_land_inside_it():
    clock = FakeClock()
    limiter = RollingWindowLimiter(2, 10.0, headroom=0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.acquire()

    limiter.acquire()  # the third waits for the first booking to expire

    # Sent at 10.25 s: even arriving 0.2 s earlier in transit than the first
    # request did, it lands more than a window after it on HubSpot's clock.
    assert clock.now == 10.25
    assert limiter.span == 10.25
    assert RollingWindowLimiter(10, 2.0).span == 2.1
