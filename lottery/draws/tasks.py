from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def draws_close_due_task() -> None:
    services.draws_close_due(now=timezone.now())


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def draws_ensure_upcoming_task() -> None:
    services.draws_ensure_upcoming(now=timezone.now())
