"""Prometheus metrics: HTTP metrics from django-prometheus, business metrics from here.

Counters of things the web processes do (sales, orders) are process-local and aggregated
across gunicorn workers by prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR,
set by config/gunicorn.py). Facts that other processes produce (draws closed by the worker,
e-mails sent, the outbox backlog) are read from the database at scrape time, so /metrics
is right whichever process did the work.

The business counters are not for the public (docs/operations.md, "Metrics"): /metrics
answers the scraper only, and is a plain 404 for anyone else.
"""

import ipaddress
import os
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

BALLOTS_SOLD = Counter("lottery_ballots_sold", "Ballots sold (paid and created)")
ORDERS = Counter("lottery_orders", "Purchase attempts by outcome", ["outcome"])


class DatabaseFactsCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        from lottery.core.models import AuditEntry, OutboxEmail
        from lottery.draws.models import Draw
        from lottery.payments.models import Order

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
        uncaptured = GaugeMetricFamily(
            "lottery_orders_uncaptured",
            "Orders whose charge is authorized but not captured yet (the sweep retries)",
            labels=["capture_status"],
        )
        counts = dict(
            Order.objects.filter(capture_status__in=Order.UNCAPTURED)
            .values_list("capture_status")
            .annotate(n=Count("id"))
            .values_list("capture_status", "n")
        )
        for capture_status in Order.UNCAPTURED:
            uncaptured.add_metric([capture_status], counts.get(capture_status, 0))
        yield uncaptured
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


# Headers a reverse proxy adds: a request carrying one was relayed for someone else, from
# wherever they are, even though it reaches us from the proxy's in-cluster address.
_RELAYED = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def scraper_allowed(request: HttpRequest) -> bool:
    """A bearer token equal to LOTTERY_METRICS_TOKEN, or a request straight from an allowed
    network (REMOTE_ADDR is the TCP peer: gunicorn never takes it from a header)."""
    token = settings.LOTTERY_METRICS_TOKEN
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and constant_time_compare(credentials, token):
        return True
    if any(header in request.META for header in _RELAYED):
        return False
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped:
        peer = peer.ipv4_mapped
    return any(peer in network for network in settings.LOTTERY_METRICS_NETWORKS)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not scraper_allowed(request):
        raise Http404
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
