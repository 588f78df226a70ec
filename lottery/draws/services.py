"""Draw rules: creating upcoming draws, buying and assigning ballots, closing draws.

Lock discipline (docs/fairness.md, "Which ballots are in"): purchases and assignments take
the draw lock shared and only then read the decision time from their clock, checking under
the lock, in the transaction that stores the ballot, that the draw is open and that time is
before `closes_at`; that time is what the ballot records. The close takes the lock
exclusively and reads its freeze time under it. So a ballot accepted before the close is in
the draw, none is stored with a decision time at or past `closes_at`, and none enters after.
"""

import datetime as dt
import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from lottery import fairness
from lottery.accounts.models import User
from lottery.accounts.services import user_assert_can_play
from lottery.core.audit import audit_log
from lottery.core.errors import DomainError
from lottery.core.metrics import BALLOTS_SOLD, ORDERS
from lottery.core.outbox import outbox_enqueue
from lottery.core.timefmt import iso_utc
from lottery.payments.errors import IdempotencyKeyReused
from lottery.payments.gateway import Card, PaymentGateway, payment_gateway
from lottery.payments.models import Order
from lottery.payments.services import order_capture

from . import sales_sql
from .ballot_list import PageIndex, ballot_ids_at, ballot_txt_pages
from .beacon import (
    BeaconError,
    BeaconRound,
    BeaconRoundNotYet,
    ChainInfo,
    beacon_configured,
    beacon_source,
    chain_info,
    fetch_round,
)
from .calendar import closes_at_for, lottery_date
from .errors import AlreadyAssigned, BallotNotFound, DrawClosed, DrawNotFound
from .locks import draw_lock_exclusive, draw_lock_shared
from .models import Ballot, Draw, DrawType, Winner
from .sales_sql import DrawState

logger = logging.getLogger(__name__)
P = ParamSpec("P")
Clock = Callable[[], dt.datetime]


# --- creating draws ----------------------------------------------------------------------


def draw_type_for(*, date: dt.date, types: list[DrawType] | None = None) -> DrawType | None:
    """The active type that runs on `date`: the highest priority among those that match."""
    candidates = (
        types if types is not None else list(DrawType.objects.filter(active=True).prefetch_related("prizes"))
    )
    matching = [t for t in candidates if t.active and t.matches(date)]
    return max(matching, key=lambda t: (t.priority, -t.pk), default=None)


def draw_create(
    *, date: dt.date, draw_type: DrawType, now: dt.datetime, beacon: ChainInfo | None = None
) -> Draw | None:
    """Create the draw for `date` with its secret seed, public commitment and beacon plan.

    With a beacon configured the plan is never "none": if the chain info cannot be read,
    BeaconError propagates and the draw is created on a later tick. Returns None if the
    draw already exists (another scheduler won the race: same effect).
    """
    if beacon is None and beacon_configured():
        beacon = chain_info()
    closes_at = closes_at_for(date)
    plan: dict[str, Any] = {}
    if beacon is not None:
        plan = {
            "beacon_source": beacon_source(),
            "beacon_chain": beacon.chain,
            "beacon_round": fairness.beacon_planned_round(
                genesis_time=beacon.genesis_time, period=beacon.period, closes_at=int(closes_at.timestamp())
            ),
        }
    seed = fairness.new_seed()
    prizes = [
        {"rank": p.rank, "name": p.name, "amount": p.amount, "count": p.count}
        for p in sorted(draw_type.prizes.all(), key=lambda p: p.rank)
    ]
    try:
        with transaction.atomic():
            draw = Draw.objects.create(
                date=date,
                draw_type=draw_type,
                type_name=draw_type.name,
                closes_at=closes_at,
                created_at=now,
                currency=settings.LOTTERY_CURRENCY,
                prizes=prizes,
                seed=seed,
                commitment=fairness.commitment(date=date.isoformat(), seed=seed),
                **plan,
            )
            audit_log(
                action="draw.created",
                obj=draw,
                at=now,
                data={
                    "date": date.isoformat(),
                    "type": draw_type.name,
                    "commitment": draw.commitment,
                    **plan,
                },
            )
    except IntegrityError:
        if Draw.objects.filter(date=date).exists():
            return None  # created concurrently by another scheduler: same effect
        raise
    return draw


def draws_ensure_upcoming(*, now: dt.datetime, days: int | None = None) -> list[Draw]:
    """Make sure today's draw and the next `days` days' draws exist. Run it as often as you like."""
    days = settings.LOTTERY_DRAWS_AHEAD_DAYS if days is None else days
    today = lottery_date(now)
    dates = [today + dt.timedelta(days=offset) for offset in range(days + 1)]
    existing = set(Draw.objects.filter(date__in=dates).values_list("date", flat=True))
    types = list(DrawType.objects.filter(active=True).prefetch_related("prizes"))
    missing = [d for d in dates if d not in existing]
    beacon = None
    if missing and beacon_configured():
        try:
            beacon = chain_info()
        except BeaconError:
            logger.warning("beacon chain info unavailable; draws %s will be created next tick", missing)
            return []
    created = []
    for date in dates:
        if date in existing:
            continue
        draw_type = draw_type_for(date=date, types=types)
        if draw_type is None:
            continue
        draw = draw_create(date=date, draw_type=draw_type, now=now, beacon=beacon)
        if draw is not None:
            created.append(draw)
    return created


# --- buying and assigning ------------------------------------------------------------------


def _draw_for_date(date: dt.date) -> Draw:
    draw = Draw.objects.filter(date=date).first()
    if draw is None:
        raise DrawNotFound()
    return draw


def _draw_state_for_date(date: dt.date) -> DrawState:
    state = sales_sql.draw_state_by_date(date)
    if state is None:
        raise DrawNotFound()
    return state


def _assert_accepting(draw: DrawState, now: dt.datetime) -> None:
    if draw.status != Draw.Status.OPEN or now >= draw.closes_at:
        raise DrawClosed()


def _lock_open_draw(draw_id: int, clock: Clock) -> tuple[DrawState, dt.datetime]:
    """Inside the transaction that stores the ballot: hold the draw lock shared, then read the
    draw's state and the decision time under it; both, if the draw accepts the ballot."""
    draw_lock_shared(draw_id)
    decided_at = clock()
    state = sales_sql.draw_state(draw_id)
    if state is None:
        raise DrawNotFound()
    _assert_accepting(state, decided_at)
    return state, decided_at


def purchase_fingerprint(payload: Any) -> str:
    """Identifies a purchase request body, so a reused Idempotency-Key can be told apart.

    Keyed with SECRET_KEY: the body holds card details, which must not be recoverable from
    the stored fingerprint by brute force.
    """
    canonical = json.dumps(payload, sort_keys=True, default=str)
    return salted_hmac("lottery.purchase-fingerprint", canonical, algorithm="sha256").hexdigest()


@dataclass(frozen=True)
class Purchase:
    order: Order
    receipt: dict[str, Any]
    replayed: bool


def purchase_receipt(order: Order, ballot_ids: list[int], draw_date: dt.date | None) -> dict[str, Any]:
    """The 201 body of a purchase. Everything in it is fixed when the order is written, so a
    retry with the same Idempotency-Key gets it rebuilt, identical, from the order's rows."""
    ballot = {
        "draw": draw_date.isoformat() if draw_date else None,
        "status": "assigned" if draw_date else "unassigned",
        "prize": None,
        "purchased_at": iso_utc(order.created_at),
    }
    return {
        "order_id": order.pk,
        "quantity": order.quantity,
        "amount": order.amount,
        "currency": order.currency,
        "ballots": [{"id": ballot_id, **ballot} for ballot_id in ballot_ids],
    }


def _replay(user: User, key: str | None, fingerprint: str) -> Purchase | None:
    if key is None:
        return None
    if not fingerprint:
        raise ValueError("a purchase with an Idempotency-Key needs the fingerprint of its body")
    keyed = sales_sql.order_by_key(user_id=user.pk, key=key)
    if keyed is None:
        return None
    if keyed.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    order = Order.objects.select_related("draw").get(pk=keyed.id)
    draw_date = order.draw.date if order.draw else None
    receipt = purchase_receipt(order, sales_sql.order_ballot_ids(order.pk), draw_date)
    return Purchase(order=order, receipt=receipt, replayed=True)


def _counting_outcomes(purchase: Callable[P, Purchase]) -> Callable[P, Purchase]:
    """Count each purchase's outcome (paid, replayed, or the refusal's code) for the metrics."""

    @functools.wraps(purchase)
    def counted(*args: P.args, **kwargs: P.kwargs) -> Purchase:
        try:
            result = purchase(*args, **kwargs)
        except DomainError as exc:
            ORDERS.labels(outcome=exc.code).inc()
            raise
        ORDERS.labels(outcome="replayed" if result.replayed else "paid").inc()
        if not result.replayed:
            BALLOTS_SOLD.inc(result.order.quantity)
        return result

    return counted


@_counting_outcomes
def ballot_purchase(
    *,
    user: User,
    quantity: int,
    card: Card,
    clock: Clock = timezone.now,
    draw_date: dt.date | None = None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
    gateway: PaymentGateway | None = None,
) -> Purchase:
    """Charge for `quantity` ballots and create them (in `draw_date`'s draw if given).

    The order, its ballots and the charge exist together or not at all: the card is
    authorized first, the rows are written in one transaction, and the authorization is
    captured after commit (retried by the sweep if that fails) or voided on failure. Whether
    the draw takes the ballots is decided with `clock` read under the draw's lock, however
    long the authorization took; that moment is the order's and its ballots' time.
    """
    if not 1 <= quantity <= 1000:
        raise ValueError("quantity must be 1..1000")
    user_assert_can_play(user=user)
    replay = _replay(user, idempotency_key, fingerprint)
    if replay:
        return replay
    draw = _draw_state_for_date(draw_date) if draw_date else None
    if draw:
        _assert_accepting(draw, clock())  # fail fast before charging; decided under the lock
    gateway = gateway or payment_gateway()
    amount = quantity * settings.LOTTERY_BALLOT_PRICE_CENTS
    authorization = gateway.authorize(
        card=card, amount=amount, currency=settings.LOTTERY_CURRENCY, now=clock()
    )
    order = Order(
        user=user,
        quantity=quantity,
        amount=amount,
        currency=authorization.currency,
        draw_id=draw.id if draw else None,
        gateway=authorization.gateway,
        charge_reference=authorization.reference,
        card_last4=authorization.card_last4,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
    )
    try:
        with transaction.atomic():
            if draw:
                draw, order.created_at = _lock_open_draw(draw.id, clock)
            else:
                order.created_at = clock()
            order.pk = sales_sql.order_insert(order)
            receipt = purchase_receipt(
                order, sales_sql.ballots_insert(order=order), draw.date if draw else None
            )
    except IntegrityError:
        gateway.void(authorization)
        # The same key won a race with us: answer as the first request did.
        replay = _replay(user, idempotency_key, fingerprint)
        if replay:
            return replay
        raise
    except BaseException:
        gateway.void(authorization)
        raise
    order._state.adding = False  # written by sales_sql, as if saved
    # The ballots are the customer's now: a failed capture is marked and retried, not raised.
    order_capture(order=order, gateway=gateway, clock=clock)
    return Purchase(order=order, receipt=receipt, replayed=False)


def ballot_assign(*, user: User, ballot_id: int, draw_date: dt.date, clock: Clock = timezone.now) -> Ballot:
    """Put the caller's unassigned ballot into `draw_date`'s open draw; the ballot as assigned.

    Decided with `clock` read under the draw's lock: that moment is the ballot's assigned_at.
    """
    user_assert_can_play(user=user)
    with transaction.atomic():
        ballot = sales_sql.ballot_owned_for_update(ballot_id=ballot_id, owner_id=user.pk)
        if ballot is None:
            raise BallotNotFound()
        draw = _draw_state_for_date(draw_date)
        if ballot.draw_id is not None:
            raise AlreadyAssigned()
        draw, assigned_at = _lock_open_draw(draw.id, clock)
        sales_sql.ballot_assign_to(ballot_id=ballot.id, draw_id=draw.id, assigned_at=assigned_at)
    return Ballot(
        id=ballot.id,
        owner=user,
        draw_id=draw.id,
        purchased_at=ballot.purchased_at,
        assigned_at=assigned_at,
    )


# --- closing ---------------------------------------------------------------------------------


def _notify_winners(draw: Draw, winners: list[Winner]) -> None:
    owners = dict(
        Ballot.objects.filter(pk__in=[w.ballot_id for w in winners]).values_list("pk", "owner__email")
    )
    names = dict(Ballot.objects.filter(pk__in=owners).values_list("pk", "owner__name"))
    for winner in winners:
        outbox_enqueue(
            key=f"draw-winner:{draw.pk}:{winner.slot}",
            to=owners[winner.ballot_id],
            template="winner",
            context={
                "name": names[winner.ballot_id],
                "date": draw.date,
                "draw_type": draw.type_name,
                "prize_name": winner.prize_name,
                "amount": winner.amount,
                "currency": winner.currency,
                "ballot_id": winner.ballot_id,
                "draw_link": f"{settings.LOTTERY_BASE_URL}/draws/{draw.date.isoformat()}",
                "verify_link": f"{settings.LOTTERY_BASE_URL}/draws/{draw.date.isoformat()}/verify",
            },
        )


def _draw_winners(draw: Draw, beacon: str, pages: PageIndex | None = None) -> list[Winner]:
    date = draw.date.isoformat()
    slots = fairness.prize_slots(draw.prizes)
    picks = fairness.pick_indices(
        seed=bytes(draw.seed),
        date=date,
        ballot_digest=draw.ballot_digest,
        beacon=beacon,
        ballot_count=draw.ballot_count or 0,
        slots=slots,
    )
    ids = ballot_ids_at(draw.pk, [p.index for p in picks], pages)
    prize_by_rank = {p["rank"]: p for p in draw.prizes}
    return Winner.objects.bulk_create(
        [
            Winner(
                draw=draw,
                slot=p.slot,
                prize_rank=p.prize_rank,
                prize_name=prize_by_rank[p.prize_rank]["name"],
                amount=prize_by_rank[p.prize_rank]["amount"],
                currency=draw.currency,
                ballot_id=ids[p.index],
                index=p.index,
                counter=p.counter,
            )
            for p in picks
        ]
    )


def draw_close(
    *, draw_id: int, clock: Clock = timezone.now, actor: User | None = None, manual: bool = False
) -> Draw:
    """Freeze the ballot list and draw the winners (docs/fairness.md), in one transaction.

    The freeze time (`closed_at`) is read from `clock` under the exclusive draw lock, after
    every purchase or assignment holding it shared has committed: never earlier than the
    decision time of a ballot in the list. Idempotent: closing a frozen or closed draw
    returns it unchanged. Any failure rolls the whole close back, leaving the draw open and
    intact for the next attempt.
    """
    started = time.perf_counter()
    with transaction.atomic():
        draw_lock_exclusive(draw_id)
        now = clock()
        draw = Draw.objects.select_for_update().get(pk=draw_id)
        if draw.status != Draw.Status.OPEN:
            return draw
        digest = fairness.BallotDigest()
        pages = PageIndex()
        for page in ballot_txt_pages(draw.pk, pages):
            digest.update_bytes(page)
        draw.ballot_count = digest.count
        draw.ballot_digest = digest.hexdigest()
        draw.closed_at = now
        actor_label = "" if actor else ("operator" if manual else "scheduler")
        if draw.beacon_round is not None:
            # Frozen: no ballot can enter; winners wait for the planned beacon round.
            draw.status = Draw.Status.DRAWING
            draw.save(update_fields=["ballot_count", "ballot_digest", "closed_at", "status"])
            audit_log(
                action="draw.frozen_manually" if manual else "draw.frozen",
                obj=draw,
                actor=actor,
                actor_label=actor_label,
                at=now,
                data={
                    "ballot_count": draw.ballot_count,
                    "ballot_digest": draw.ballot_digest,
                    "beacon_round": draw.beacon_round,
                },
            )
            draw_id = draw.pk
            transaction.on_commit(lambda: _schedule_beacon_draw(draw_id))
            logger.info(
                "draw %s frozen: %s ballots, waiting for beacon round %s",
                draw.date,
                draw.ballot_count,
                draw.beacon_round,
            )
            return draw
        winners = _finish_draw(draw, beacon="", pages=pages)
        audit_log(
            action="draw.closed_manually" if manual else "draw.closed",
            obj=draw,
            actor=actor,
            actor_label=actor_label,
            at=now,
            data={
                "ballot_count": draw.ballot_count,
                "ballot_digest": draw.ballot_digest,
                "winners": [{"slot": w.slot, "ballot_id": w.ballot_id} for w in winners],
                "duration_seconds": round(time.perf_counter() - started, 6),
            },
        )
        _notify_winners(draw, winners)
    logger.info("draw %s closed: %s ballots, %s winners", draw.date, draw.ballot_count, len(winners))
    return draw


def _finish_draw(draw: Draw, *, beacon: str, pages: PageIndex | None = None) -> list[Winner]:
    """Inside the close transaction: draw the winners and mark the draw closed (seed revealed)."""
    winners = _draw_winners(draw, beacon=beacon, pages=pages)
    draw.status = Draw.Status.CLOSED
    draw.save(
        update_fields=[
            "ballot_count",
            "ballot_digest",
            "closed_at",
            "status",
            "beacon_randomness",
            "beacon_signature",
        ]
    )
    return winners


def _schedule_beacon_draw(draw_id: int) -> None:
    from .tasks import draw_with_beacon_task

    try:
        draw_with_beacon_task.apply_async(args=[draw_id], countdown=fairness.BEACON_DELAY_SECONDS)
    except Exception:
        logger.warning("could not queue the beacon draw of draw %s; the sweep will do it", draw_id)


def draw_with_beacon(
    *, draw_id: int, now: dt.datetime, fetch: Callable[..., BeaconRound] = fetch_round
) -> Draw:
    """Draw a frozen draw's winners with its planned beacon round (docs/fairness.md).

    Raises BeaconRoundNotYet while the round is not published and BeaconError when the
    beacon cannot be read or answers something invalid: the draw stays `drawing` and is
    retried; it never falls back to drawing without the beacon. Idempotent.
    """
    draw = Draw.objects.get(pk=draw_id)
    if draw.status != Draw.Status.DRAWING or draw.beacon_round is None:
        return draw
    beacon_round = fetch(source=draw.beacon_source, chain=draw.beacon_chain, round_number=draw.beacon_round)
    started = time.perf_counter()
    with transaction.atomic():
        draw_lock_exclusive(draw_id)
        draw = Draw.objects.select_for_update().get(pk=draw_id)
        if draw.status != Draw.Status.DRAWING:
            return draw
        draw.beacon_randomness = beacon_round.randomness
        draw.beacon_signature = beacon_round.signature
        winners = _finish_draw(draw, beacon=beacon_round.randomness)
        audit_log(
            action="draw.closed",
            obj=draw,
            actor_label="beacon",
            at=now,
            data={
                "ballot_count": draw.ballot_count,
                "ballot_digest": draw.ballot_digest,
                "beacon_round": draw.beacon_round,
                "beacon_randomness": draw.beacon_randomness,
                "winners": [{"slot": w.slot, "ballot_id": w.ballot_id} for w in winners],
                "duration_seconds": round(time.perf_counter() - started, 6),
            },
        )
        _notify_winners(draw, winners)
    logger.info("draw %s drawn with beacon round %s: %s winners", draw.date, draw.beacon_round, len(winners))
    return draw


def draws_draw_pending(*, now: dt.datetime) -> list[Draw]:
    """The sweep for frozen draws: draw each whose beacon round is published; others wait."""
    drawn = []
    for pk in (
        Draw.objects.filter(status=Draw.Status.DRAWING).order_by("closes_at").values_list("pk", flat=True)
    ):
        try:
            drawn.append(draw_with_beacon(draw_id=pk, now=now))
        except BeaconRoundNotYet:
            continue
        except BeaconError as exc:
            logger.warning("draw %s: beacon unavailable (%s); retrying next tick", pk, exc)
    return drawn


def draw_close_by_date(*, date: dt.date, clock: Clock = timezone.now, actor: User | None = None) -> Draw:
    """The operator's close: freezes now, even before closes_at."""
    return draw_close(draw_id=_draw_for_date(date).pk, clock=clock, actor=actor, manual=True)


def draws_close_due(*, clock: Clock = timezone.now) -> list[Draw]:
    """Close every open draw whose closes_at has passed, oldest first (the scheduler's sweep).

    A draw whose close fails is logged and retried next tick; it does not hold up the others.
    """
    due = Draw.objects.filter(Q(status=Draw.Status.OPEN) & Q(closes_at__lte=clock())).order_by("closes_at")
    closed = []
    for pk in due.values_list("pk", flat=True):
        try:
            closed.append(draw_close(draw_id=pk, clock=clock))
        except Exception:
            logger.exception("closing draw %s failed; it stays open and is retried next tick", pk)
    return closed
