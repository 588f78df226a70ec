"""Reads for the API and pages. Closed draws never change, so their reads are cacheable;
the winners' display names do (their profiles), so reads naming them are cached briefly."""

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Prefetch, QuerySet, Sum
from rest_framework.renderers import JSONRenderer

from lottery import fairness
from lottery.accounts.models import User
from lottery.core.timefmt import iso_utc

from .errors import BallotNotFound, DrawNotFound, DrawOpen
from .models import Ballot, Draw, Winner

DRAW_PUBLIC_FIELDS = (
    "id",
    "date",
    "type_name",
    "status",
    "closes_at",
    "closed_at",
    "currency",
    "prizes",
    "commitment",
    "ballot_count",
    "ballot_digest",
    "seed",
    "beacon_source",
    "beacon_chain",
    "beacon_round",
    "beacon_randomness",
    "beacon_signature",
)


def _winners_prefetch() -> "Prefetch[Any]":
    return Prefetch("winners", queryset=Winner.objects.select_related("ballot__owner").order_by("slot"))


def draw_get(*, date: dt.date) -> Draw:
    draw = (
        Draw.objects.only(*DRAW_PUBLIC_FIELDS).prefetch_related(_winners_prefetch()).filter(date=date).first()
    )
    if draw is None:
        raise DrawNotFound()
    return draw


# A winner's display name follows their profile: a rename or an erasure shows in every
# response within this many seconds, whatever is cached (docs/api.md).
NAMES_FRESH_SECONDS = 60


@dataclass(frozen=True)
class Rendered:
    """A draw's JSON. `fresh_for`: how many more seconds it stays right (it names winners),
    or None if it never changes (closed, naming no one); meaningless while not closed."""

    body: bytes
    closed: bool
    fresh_for: int | None = None


@dataclass(frozen=True)
class _Kept:
    body: bytes
    fresh_until: float | None  # time.time() when a winner's rename must show; None: never changes


def draw_rendered(*, date: dt.date, part: str, build: Callable[[Draw], Any], names_winners: bool) -> Rendered:
    """`build(draw)` as JSON. A closed draw's part is kept in the shared cache: for good if it
    names no one (a million-ballot draw costs one cache read), else until NAMES_FRESH_SECONDS
    after it was built, a moment handed on to every cache downstream (`fresh_for`).

    Freshness is judged by this process's clock, not the cache's expiry, which only frees
    the memory: the same deadline holds whichever cache backend keeps it."""
    key = f"draw-json:{part}:{date.isoformat()}"
    now = time.time()
    kept = cache.get(key)
    if isinstance(kept, _Kept):  # anything else (an older release's bytes) is rebuilt
        if kept.fresh_until is None:
            return Rendered(kept.body, closed=True)
        left = int(kept.fresh_until - now)
        if left > 0:
            return Rendered(kept.body, closed=True, fresh_for=left)
    draw = draw_get(date=date)
    body = JSONRenderer().render(build(draw))
    if draw.status != Draw.Status.CLOSED:
        return Rendered(body, closed=False)
    if not names_winners:
        cache.set(key, _Kept(body, fresh_until=None), None)
        return Rendered(body, closed=True)
    cache.set(key, _Kept(body, fresh_until=now + NAMES_FRESH_SECONDS), NAMES_FRESH_SECONDS)
    return Rendered(body, closed=True, fresh_for=NAMES_FRESH_SECONDS)


def draws_list(*, status: str | None) -> QuerySet[Draw]:
    draws = Draw.objects.only(*DRAW_PUBLIC_FIELDS).prefetch_related(_winners_prefetch())
    if status == Draw.Status.OPEN:
        return draws.filter(status=status).order_by("closes_at")
    if status:
        draws = draws.filter(status=status)
    return draws.order_by("-date")


def draws_accepting(*, now: dt.datetime) -> QuerySet[Draw]:
    """Draws that take ballots right now (open, and before their closes_at), soonest first."""
    draws = Draw.objects.only(*DRAW_PUBLIC_FIELDS).filter(status=Draw.Status.OPEN, closes_at__gt=now)
    return draws.order_by("closes_at")


def draw_ballot_count(draw: Draw) -> int:
    """The frozen count once closed; while open, a live count (an index-only scan)."""
    if draw.ballot_count is not None:
        return draw.ballot_count
    return Ballot.objects.filter(draw_id=draw.pk).count()


def draw_prizes(draw: Draw) -> list[dict[str, Any]]:
    return [
        {
            "rank": p["rank"],
            "name": p["name"],
            "amount": p["amount"],
            "currency": draw.currency,
            "count": p["count"],
        }
        for p in draw.prizes
    ]


def winner_public(winner: Winner) -> dict[str, Any]:
    return {
        "prize_rank": winner.prize_rank,
        "prize_name": winner.prize_name,
        "amount": winner.amount,
        "currency": winner.currency,
        "ballot_id": winner.ballot_id,
        "winner_name": winner.ballot.owner.public_name,
    }


def draw_winners(draw: Draw) -> list[dict[str, Any]]:
    if draw.status != Draw.Status.CLOSED:
        return []
    return [winner_public(w) for w in draw.winners.all()]


def draw_proof(draw: Draw) -> dict[str, Any]:
    """The proof of docs/fairness.md. The seed and winners appear only once drawn."""
    frozen = draw.status != Draw.Status.OPEN
    drawn = draw.status == Draw.Status.CLOSED
    beacon: dict[str, Any] | None = None
    if draw.beacon_round is not None:
        beacon = {"source": draw.beacon_source, "chain": draw.beacon_chain, "round": draw.beacon_round}
        if drawn:
            beacon.update(randomness=draw.beacon_randomness, signature=draw.beacon_signature)
    return {
        "algorithm": fairness.ALGORITHM,
        "date": draw.date.isoformat(),
        "status": draw.status,
        "commitment": draw.commitment,
        "seed": draw.revealed_seed,
        "prizes": draw_prizes(draw),
        "ballot_count": draw.ballot_count if frozen else None,
        "ballot_digest": draw.ballot_digest if frozen else None,
        "closes_at": iso_utc(draw.closes_at),
        "closed_at": iso_utc(draw.closed_at) if frozen else None,
        "beacon": beacon,
        "winners": [
            {
                "slot": w.slot,
                "prize_rank": w.prize_rank,
                "ballot_id": w.ballot_id,
                "index": w.index,
                "counter": w.counter,
            }
            for w in draw.winners.all()
        ]
        if drawn
        else None,
    }


def draw_assert_frozen(draw: Draw) -> None:
    if draw.status == Draw.Status.OPEN:
        raise DrawOpen()


# --- ballots ------------------------------------------------------------------------------

BALLOT_STATUSES = ("unassigned", "assigned", "won", "lost")


def ballot_status(ballot: Ballot) -> str:
    if ballot.draw is None:
        return "unassigned"
    if hasattr(ballot, "win"):
        return "won"
    if ballot.draw.status == Draw.Status.CLOSED:
        return "lost"
    return "assigned"


def ballots_list(
    *, user: User, status: str | None = None, draw_date: dt.date | None = None
) -> QuerySet[Ballot]:
    ballots = (
        Ballot.objects.filter(owner=user)
        .select_related("draw", "win")
        .only(
            "id",
            "draw_id",
            "purchased_at",
            "owner_id",
            "draw__date",
            "draw__status",
            "win__id",
            "win__prize_rank",
            "win__prize_name",
            "win__amount",
            "win__currency",
            "win__ballot_id",
        )
    )
    if draw_date is not None:
        ballots = ballots.filter(draw__date=draw_date)
    if status == "unassigned":
        ballots = ballots.filter(draw__isnull=True)
    elif status == "assigned":
        ballots = ballots.filter(draw__status__in=[Draw.Status.OPEN, Draw.Status.DRAWING])
    elif status == "won":
        ballots = ballots.filter(win__isnull=False)
    elif status == "lost":
        ballots = ballots.filter(draw__status=Draw.Status.CLOSED, win__isnull=True)
    return ballots.order_by("-id")


def ballot_get(*, user: User, ballot_id: int) -> Ballot:
    ballot = ballots_list(user=user).filter(pk=ballot_id).first()
    if ballot is None:
        raise BallotNotFound()
    return ballot


def ballot_prize(ballot: Ballot) -> dict[str, Any] | None:
    win = getattr(ballot, "win", None)
    if win is None:
        return None
    return {"rank": win.prize_rank, "name": win.prize_name, "amount": win.amount, "currency": win.currency}


@dataclass(frozen=True)
class Winnings:
    total_amount: int
    currency: str
    wins: list[dict[str, Any]]


def user_winnings(*, user: User) -> Winnings:
    wins = Winner.objects.filter(ballot__owner=user).select_related("draw").order_by("-draw__date", "slot")
    rows: list[dict[str, Any]] = [
        {
            "draw": w.draw.date.isoformat(),
            "prize_name": w.prize_name,
            "amount": w.amount,
            "ballot_id": w.ballot_id,
        }
        for w in wins
    ]
    return Winnings(total_amount=sum(w.amount for w in wins), currency=settings.LOTTERY_CURRENCY, wins=rows)


# --- stats ---------------------------------------------------------------------------------

RECENT_DRAWS = 5


def lottery_stats() -> dict[str, Any]:
    by_status = dict(Draw.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    awarded = Winner.objects.aggregate(n=Count("id"), total=Sum("amount"))
    recent = (
        Draw.objects.filter(status=Draw.Status.CLOSED)
        .only("id", "date", "status")
        .prefetch_related(_winners_prefetch())
        .order_by("-date")[:RECENT_DRAWS]
    )
    return {
        "draws_total": sum(by_status.values()),
        "draws_open": by_status.get(Draw.Status.OPEN, 0),
        "draws_closed": by_status.get(Draw.Status.CLOSED, 0),
        "ballots_total": Ballot.objects.count(),
        "prizes_awarded": awarded["n"] or 0,
        "amount_awarded": awarded["total"] or 0,
        "currency": settings.LOTTERY_CURRENCY,
        "recent_winners": [
            {"date": d.date.isoformat(), "winners": [winner_public(w) for w in d.winners.all()]}
            for d in recent
        ],
    }
