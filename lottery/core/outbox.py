"""Durable e-mail: queue in the caller's transaction, deliver at least once after commit."""

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from .models import OutboxEmail

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)


def email_render(*, template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Render `emails/<template>` into (subject, text body, html body) with the shared layout."""
    ctx = {"base_url": settings.LOTTERY_BASE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{template}_subject.txt", ctx).split())
    body = render_to_string(f"emails/{template}.txt", ctx)
    html = render_to_string(f"emails/{template}.html", ctx)
    return subject, body, html


def outbox_enqueue(*, key: str, to: str, template: str, context: dict[str, Any]) -> OutboxEmail | None:
    """Queue one e-mail in the current transaction; delivery is scheduled after commit.

    Returns None when this (key, recipient) was already queued: the event already mailed.
    """
    subject, body, html = email_render(template=template, context=context)
    now = timezone.now()
    try:
        with transaction.atomic():
            email = OutboxEmail.objects.create(
                key=key,
                to=to,
                subject=subject,
                body=body,
                html=html,
                created_at=now,
                next_attempt_at=now,
            )
    except IntegrityError:
        return None
    email_id = email.pk
    transaction.on_commit(lambda: _schedule_delivery(email_id))
    return email


# After a failed publish, requests stop trying the broker for a while: each attempt
# against a dead broker costs the request a connection timeout, and the sweep sends the
# rows anyway once the broker is back.
BROKER_PAUSE_SECONDS = 30.0
_broker_paused_until = 0.0


def _schedule_delivery(email_id: int) -> None:
    global _broker_paused_until
    from .tasks import outbox_deliver_task

    if time.monotonic() < _broker_paused_until:
        return
    try:
        outbox_deliver_task.delay(email_id)
    except Exception:  # broker down: the row waits in the outbox for the next sweep
        _broker_paused_until = time.monotonic() + BROKER_PAUSE_SECONDS
        logger.warning("outbox: could not queue delivery of e-mail %s; the sweep will retry", email_id)


def outbox_deliver(*, email_id: int, now: datetime | None = None) -> bool:
    """Send one pending e-mail. Returns True if it was sent by this call.

    The row stays locked while the message goes out, so two workers never send it at
    once; it is marked sent in the same transaction. A crash between the server accepting
    the message and the commit resends it once (same Message-ID).
    """
    now = now or timezone.now()
    with transaction.atomic():
        email = (
            OutboxEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, sent_at__isnull=True)
            .first()
        )
        if email is None:
            return False
        message = EmailMultiAlternatives(
            subject=email.subject,
            body=email.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[email.to],
            headers={"Message-ID": email.message_id},
        )
        if email.html:
            message.attach_alternative(email.html, "text/html")
        email.attempts += 1
        try:
            message.send()
        except Exception as exc:
            email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            email.next_attempt_at = now + min(timedelta(seconds=30 * 2**email.attempts), MAX_BACKOFF)
            email.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            logger.warning("outbox: sending e-mail %s failed (attempt %s)", email.pk, email.attempts)
            return False
        email.sent_at = timezone.now()
        email.last_error = ""
        email.save(update_fields=["attempts", "sent_at", "last_error"])
        return True


def outbox_due_ids(*, now: datetime, limit: int = 500) -> list[int]:
    return list(
        OutboxEmail.objects.filter(sent_at__isnull=True, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def outbox_deliver_due(*, now: datetime) -> int:
    """The sweep: send everything due. Safe to run from any number of places at once."""
    return sum(outbox_deliver(email_id=pk, now=now) for pk in outbox_due_ids(now=now))


def outbox_backlog() -> int:
    return OutboxEmail.objects.filter(sent_at__isnull=True).count()
