"""Operations endpoints (/healthz, /readyz) and the development mailbox."""

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from .models import OutboxEmail
from .readiness import readiness_checks

MAILBOX_LIMIT = 200


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks = readiness_checks()
    failing = [name for name, ok in checks.items() if not ok["ok"]]
    body: dict[str, Any] = {"status": "ok" if not failing else "unavailable", "checks": checks}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)


def _mailbox_emails() -> list[OutboxEmail]:
    if not settings.LOTTERY_DEV_MAILBOX:
        raise Http404
    return list(OutboxEmail.objects.filter(sent_at__isnull=False).order_by("-sent_at", "-id")[:MAILBOX_LIMIT])


@never_cache
def mailbox(request: HttpRequest) -> HttpResponse:
    return render(request, "core/mailbox.html", {"emails": _mailbox_emails()})


@never_cache
def mailbox_json(request: HttpRequest) -> JsonResponse:
    emails = [
        {
            "to": e.to,
            "subject": e.subject,
            "body": e.body,
            "html": e.html or None,
            "sent_at": e.sent_at.isoformat() if e.sent_at else None,
        }
        for e in _mailbox_emails()
    ]
    return JsonResponse(emails, safe=False)
