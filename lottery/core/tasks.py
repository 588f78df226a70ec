import logging

from celery import shared_task
from django.utils import timezone

from . import outbox

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def outbox_deliver_task(email_id: int) -> None:
    logger.info("outbox: delivering e-mail %s", email_id)
    outbox.outbox_deliver(email_id=email_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def outbox_sweep_task() -> None:
    outbox.outbox_deliver_due(now=timezone.now())
