from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def draws_close_due_task() -> None:
    services.draws_close_due(clock=timezone.now)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def draws_ensure_upcoming_task() -> None:
    services.draws_ensure_upcoming(now=timezone.now())


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True, max_retries=None)
def draw_with_beacon_task(self, draw_id: int) -> None:
    """Draw as soon as the planned round is out, with backoff (capped at 60 s) until it is."""
    from .beacon import BeaconError

    try:
        services.draw_with_beacon(draw_id=draw_id, now=timezone.now())
    except BeaconError as exc:
        if self.request.is_eager:
            return  # embedded mode: the ticker's sweep retries
        raise self.retry(exc=exc, countdown=min(2 ** min(self.request.retries, 6), 60)) from exc


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def draws_draw_pending_task() -> None:
    services.draws_draw_pending(now=timezone.now())
