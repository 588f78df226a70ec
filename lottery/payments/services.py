"""Capturing charges: right after a purchase commits, then by the periodic sweep until captured.

A purchase stores its order and ballots with the charge authorized (capture "pending") and
captures after the commit. When the gateway fails that capture, the customer keeps the ballots
(they were promised them, and the authorization holds the funds): the order is marked
"failed", audited, counted in /metrics (`lottery_orders_uncaptured`), logged, and captured by
the sweep as soon as the gateway answers. Gateways capture idempotently by reference, so a
capture retried after its answer was lost, or by two sweeps at once, takes the money once.
"""

import datetime as dt
import logging
from collections.abc import Callable

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from lottery.core.audit import audit_log

from .gateway import Authorization, PaymentGateway, payment_gateway
from .models import Order

logger = logging.getLogger(__name__)

# A purchase captures within seconds of its commit; an order still pending after this long
# lost its capture (the process died in between) and the sweep takes it over.
PENDING_GRACE = dt.timedelta(minutes=5)
SWEEP_BATCH = 500  # captures per run at most: the next run takes the rest

CaptureStatus = Order.CaptureStatus


def _authorization(order: Order) -> Authorization:
    return Authorization(
        gateway=order.gateway,
        reference=order.charge_reference,
        amount=order.amount,
        currency=order.currency,
        card_last4=order.card_last4,
    )


def _mark_captured(order: Order, at: dt.datetime, *, retried: bool) -> None:
    if retried:
        with transaction.atomic():
            was = order.capture_status
            if Order.objects.filter(pk=order.pk, capture_status=was).update(
                capture_status=CaptureStatus.CAPTURED
            ):
                audit_log(
                    action="order.captured",
                    obj=order,
                    at=at,
                    data={"charge_reference": order.charge_reference, "was": was},
                )
    else:
        # Written out: this runs after every purchase (docs/performance.md).
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE payments_order SET capture_status = %s WHERE id = %s AND capture_status = %s",
                [CaptureStatus.CAPTURED, order.pk, CaptureStatus.PENDING],
            )
    order.capture_status = CaptureStatus.CAPTURED


def _mark_failed(order: Order, error: Exception, at: dt.datetime) -> None:
    with transaction.atomic():
        first = Order.objects.filter(pk=order.pk, capture_status=CaptureStatus.PENDING).update(
            capture_status=CaptureStatus.FAILED
        )
        if first:  # later failures of the same capture are logged, not audited again
            audit_log(
                action="order.capture_failed",
                obj=order,
                at=at,
                data={
                    "charge_reference": order.charge_reference,
                    "amount": order.amount,
                    "currency": order.currency,
                    "error": f"{type(error).__name__}: {error}"[:500],
                },
            )
    order.capture_status = CaptureStatus.FAILED


def _capture(
    order: Order, gateway: PaymentGateway, clock: Callable[[], dt.datetime], *, retried: bool
) -> bool:
    try:
        gateway.capture(_authorization(order))
    except Exception as exc:  # whatever the provider raises, the order must not be left unmarked
        logger.exception("capture of order %s failed; the sweep retries it", order.pk)
        _mark_failed(order, exc, clock())
        return False
    _mark_captured(order, clock(), retried=retried)
    return True


def order_capture(
    *, order: Order, gateway: PaymentGateway, clock: Callable[[], dt.datetime] = timezone.now
) -> bool:
    """Capture the charge of `order` right after its purchase committed; whether it is captured.

    A gateway failure does not raise: the order is marked failed for the sweep to retry.
    """
    return _capture(order, gateway, clock, retried=False)


def orders_capture_pending(
    *, clock: Callable[[], dt.datetime] = timezone.now, gateway: PaymentGateway | None = None
) -> int:
    """The sweep: capture every order of this gateway whose capture failed, or whose purchase
    did not get to it; how many got captured. Run it as often as you like."""
    gateway = gateway or payment_gateway()
    due = Order.objects.filter(
        Q(capture_status=CaptureStatus.FAILED)
        | Q(capture_status=CaptureStatus.PENDING, created_at__lte=clock() - PENDING_GRACE),
        gateway=gateway.name,
    ).order_by("created_at")[:SWEEP_BATCH]
    return sum(_capture(order, gateway, clock, retried=True) for order in due)
