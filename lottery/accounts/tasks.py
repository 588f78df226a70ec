from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def auth_tokens_purge_expired_task() -> None:
    services.auth_tokens_purge_expired(now=timezone.now())
