"""Clocks for the services that read the time at the moment they decide."""

import datetime as dt
import threading


class Clock:
    """A clock the test moves by hand: call it for the time, like timezone.now."""

    def __init__(self, start: dt.datetime):
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, delta: dt.timedelta) -> None:
        with self._lock:
            self._now += delta


def at(moment: dt.datetime) -> Clock:
    """A clock stopped at `moment`."""
    return Clock(moment)
