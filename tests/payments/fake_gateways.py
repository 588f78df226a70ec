"""Fake payment gateways. The gateway interface is ours, so a fake is fair here: it lets a
test see when the service authorizes, captures and voids, and what was committed then."""

import dataclasses
import sys
import threading

from django.db import connection

from lottery.payments.errors import PaymentDeclined
from lottery.payments.gateway import Authorization, PaymentGateway, SandboxGateway
from lottery.payments.models import Order


class AlwaysDeclines(PaymentGateway):
    name = "always-declines"

    def authorize(self, *, card, amount, currency, now):
        raise PaymentDeclined("This gateway always declines.")

    def capture(self, authorization):
        raise AssertionError("nothing to capture")

    def void(self, authorization):
        raise AssertionError("nothing to void")


class RecordingGateway(PaymentGateway):
    """The sandbox's decisions, plus a log of every call and what the database held at the time.

    `on_authorize` runs right after a successful authorization: a hook to make something
    happen between the charge and the order's transaction (a close, a failure).
    """

    name = "recording"

    def __init__(self, on_authorize=None):
        self.sandbox = SandboxGateway()
        self.on_authorize = on_authorize
        self.calls = []
        self._lock = threading.Lock()

    def _record(self, call, authorization):
        entry = {
            "call": call,
            "reference": authorization.reference,
            "in_transaction": connection.in_atomic_block,
            "order_visible": Order.objects.filter(charge_reference=authorization.reference).exists(),
        }
        with self._lock:  # the concurrency tests share one gateway between threads
            self.calls.append(entry)

    def authorize(self, *, card, amount, currency, now) -> Authorization:
        decided = self.sandbox.authorize(card=card, amount=amount, currency=currency, now=now)
        authorization = dataclasses.replace(decided, gateway=self.name)
        self._record("authorize", authorization)
        if self.on_authorize:
            self.on_authorize(authorization)
        return authorization

    def capture(self, authorization):
        self._record("capture", authorization)

    def void(self, authorization):
        self._record("void", authorization)

    def names(self):
        return [c["call"] for c in self.calls]

    def count(self, call):
        return self.names().count(call)


class FlakyCapture(RecordingGateway):
    """A RecordingGateway whose captures fail while `failing` is set, as during a provider's
    outage. Like a provider's, its capture is idempotent by reference: `captured` maps each
    reference to the amount taken, once."""

    name = "flaky-capture"

    def __init__(self, failing=True, on_authorize=None):
        super().__init__(on_authorize=on_authorize)
        self.failing = failing
        self.captured = {}

    def capture(self, authorization):
        self._record("capture", authorization)
        if self.failing:
            raise ConnectionError("payment provider unreachable")
        with self._lock:
            self.captured.setdefault(authorization.reference, authorization.amount)


_configured = None


def configured():
    """The gateway a test put in place with `use_gateway` (LOTTERY_PAYMENT_GATEWAY names this)."""
    assert _configured is not None, "call use_gateway() first"
    return _configured


def use_gateway(settings, monkeypatch, gateway):
    """Make `gateway` the configured one, for every request and sweep until the test ends."""
    monkeypatch.setattr(sys.modules[__name__], "_configured", gateway)
    settings.LOTTERY_PAYMENT_GATEWAY = f"{__name__}.configured"
    return gateway
