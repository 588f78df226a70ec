"""The periodic work, in one list: run by Celery beat with a broker, by the ticker without.

Every job is a sweep over state ("whatever is due"), idempotent, so a missed or doubled
run changes nothing but timing.
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

PERIODIC_TASKS = [
    "lottery.draws.tasks.draws_close_due_task",
    "lottery.draws.tasks.draws_draw_pending_task",
    "lottery.draws.tasks.draws_ensure_upcoming_task",
    "lottery.core.tasks.outbox_sweep_task",
    "lottery.payments.tasks.orders_capture_pending_task",
    "lottery.accounts.tasks.auth_tokens_purge_expired_task",
]


def beat_schedule() -> dict[str, dict[str, object]]:
    return {path: {"task": path, "schedule": settings.LOTTERY_TICK_SECONDS} for path in PERIODIC_TASKS}


def run_periodic_once() -> None:
    """One tick: every periodic job, in order, in this process. A failing job does not stop the others."""
    for path in PERIODIC_TASKS:
        close_old_connections()
        try:
            import_string(path).apply(throw=True)
        except Exception:
            logger.exception("periodic job %s failed; it runs again next tick", path)
    close_old_connections()


class Ticker(threading.Thread):
    """The embedded scheduler: runs the periodic jobs every LOTTERY_TICK_SECONDS."""

    def __init__(self, interval: float | None = None) -> None:
        super().__init__(name="lottery-ticker", daemon=True)
        self.interval = interval if interval is not None else settings.LOTTERY_TICK_SECONDS
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            run_periodic_once()
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()
