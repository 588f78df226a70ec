import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from lottery.core.models import AuditEntry, OutboxEmail
from lottery.core.outbox import outbox_backlog, outbox_deliver, outbox_deliver_due, outbox_enqueue

pytestmark = pytest.mark.django_db

CONTEXT = {"name": "Jane", "link": "http://testserver/verify-email/abc"}


def test_one_mail_per_event_and_recipient():
    first = outbox_enqueue(key="evt:1", to="a@example.com", template="verify_email", context=CONTEXT)
    again = outbox_enqueue(key="evt:1", to="a@example.com", template="verify_email", context=CONTEXT)
    other = outbox_enqueue(key="evt:1", to="b@example.com", template="verify_email", context=CONTEXT)
    assert first is not None and other is not None and again is None
    assert OutboxEmail.objects.count() == 2


def test_sent_mail_is_never_sent_again():
    email = outbox_enqueue(key="evt:2", to="a@example.com", template="verify_email", context=CONTEXT)
    assert outbox_deliver(email_id=email.pk) is True
    assert outbox_deliver(email_id=email.pk) is False
    assert outbox_deliver_due(now=timezone.now()) == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.extra_headers["Message-ID"] == OutboxEmail.objects.get().message_id
    assert "Jane" in message.body and message.alternatives[0][1] == "text/html"


def test_failed_send_is_retried_later_with_backoff(settings):
    settings.EMAIL_BACKEND = "tests.core.failing_backend.FailingBackend"
    email = outbox_enqueue(key="evt:3", to="a@example.com", template="verify_email", context=CONTEXT)
    now = timezone.now()
    assert outbox_deliver_due(now=now) == 0
    email.refresh_from_db()
    assert email.attempts == 1 and email.sent_at is None and "boom" in email.last_error
    assert email.next_attempt_at > now
    assert outbox_deliver_due(now=now) == 0  # not due yet
    assert outbox_backlog() == 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert outbox_deliver_due(now=email.next_attempt_at) == 1
    assert outbox_backlog() == 0


def test_rolled_back_event_queues_no_mail():
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue(key="evt:4", to="a@example.com", template="verify_email", context=CONTEXT)
        raise RuntimeError
    assert not OutboxEmail.objects.exists()


def test_audit_entries_are_append_only(user):
    from lottery.core.audit import audit_log

    entry = audit_log(action="test.done", obj=user, actor=user)
    assert entry.actor_label == user.email
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()
    assert AuditEntry.objects.count() == 1
