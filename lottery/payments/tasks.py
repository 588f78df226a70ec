from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def orders_capture_pending_task() -> None:
    services.orders_capture_pending(clock=timezone.now)
