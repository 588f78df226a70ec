"""Prometheus metrics: HTTP metrics from django-prometheus, business metrics from here.

Counters of things the web processes do (sales, orders) are process-local and aggregated
across gunicorn workers by prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR,
set by config/gunicorn.py). Facts that other processes produce (draws closed by the worker,
e-mails sent, the outbox backlog) are read from the database at scrape time, so /metrics
is right whichever process did the work.
"""

import os
from collections.abc import Iterator

from django.db.models import Count, Max, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

BALLOTS_SOLD = Counter("lottery_ballots_sold", "Ballots sold (paid and created)")
ORDERS = Counter("lottery_orders", "Purchase attempts by outcome", ["outcome"])


class DatabaseFactsCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        from lottery.core.models import AuditEntry, OutboxEmail
        from lottery.draws.models import Draw

        outbox = OutboxEmail.objects.aggregate(
            backlog=Count("id", filter=Q(sent_at__isnull=True)),
            sent=Count("id", filter=Q(sent_at__isnull=False)),
            attempts=Sum("attempts"),
        )
        yield GaugeMetricFamily(
            "lottery_outbox_backlog", "E-mails waiting to be sent", value=outbox["backlog"]
        )
        yield GaugeMetricFamily("lottery_emails_sent", "E-mails sent (all time)", value=outbox["sent"])
        failed = (outbox["attempts"] or 0) - outbox["sent"]
        yield GaugeMetricFamily(
            "lottery_email_send_failures", "Failed send attempts (all time)", value=max(failed, 0)
        )
        draws = GaugeMetricFamily("lottery_draws", "Draws by status", labels=["status"])
        for status, n in (
            Draw.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
        ):
            draws.add_metric([status], n)
        yield draws
        overdue = Draw.objects.filter(status=Draw.Status.OPEN, closes_at__lt=timezone.now()).count()
        yield GaugeMetricFamily("lottery_draws_overdue", "Open draws past their closes_at", value=overdue)
        last = (
            AuditEntry.objects.filter(action__in=["draw.closed", "draw.closed_manually"])
            .aggregate(at=Max("id"))
            .get("at")
        )
        if last is not None:
            seconds = AuditEntry.objects.get(pk=last).data.get("duration_seconds")
            if seconds is not None:
                yield GaugeMetricFamily(
                    "lottery_draw_close_duration_seconds", "Duration of the latest draw close", value=seconds
                )


def metrics_view(request: HttpRequest) -> HttpResponse:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    scrape = CollectorRegistry()
    scrape.register(DatabaseFactsCollector())
    body = generate_latest(registry) + generate_latest(scrape)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
