"""Helpers shared by the page views: what a template needs to know about a draw."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest
from django.utils import timezone

from lottery.draws import selectors
from lottery.draws.errors import DrawNotFound
from lottery.draws.models import Draw

STATUS_LABELS = {
    "open": "Open",
    "drawing": "Drawing",
    "closed": "Closed",
    "unassigned": "Unassigned",
    "assigned": "In a draw",
    "won": "Won",
    "lost": "Not won",
}


@dataclass
class DrawView:
    """A draw as the pages show it, read through the same selectors as the API."""

    date: dt.date
    type_name: str
    status: str
    closes_at: dt.datetime
    closed_at: dt.datetime | None
    currency: str
    commitment: str
    ballot_count: int
    prizes: list[dict[str, Any]]
    winners: list[dict[str, Any]] = field(default_factory=list)
    ballot_digest: str = ""
    seed: str | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def is_open(self) -> bool:
        return self.status == Draw.Status.OPEN

    @property
    def is_frozen(self) -> bool:
        return self.status != Draw.Status.OPEN

    @property
    def top_prize(self) -> dict[str, Any] | None:
        return min(self.prizes, key=lambda p: p["rank"], default=None)

    @property
    def prize_total(self) -> int:
        return sum(p["amount"] * p["count"] for p in self.prizes)

    @property
    def awarded_total(self) -> int:
        return sum(w["amount"] for w in self.winners)

    @property
    def iso(self) -> str:
        return self.date.isoformat()


def draw_view(draw: Draw, *, with_secrets_once_drawn: bool = False) -> DrawView:
    return DrawView(
        date=draw.date,
        type_name=draw.type_name,
        status=draw.status,
        closes_at=draw.closes_at,
        closed_at=draw.closed_at,
        currency=draw.currency,
        commitment=draw.commitment,
        ballot_count=selectors.draw_ballot_count(draw),
        prizes=sorted(selectors.draw_prizes(draw), key=lambda p: p["rank"]),
        winners=selectors.draw_winners(draw),
        ballot_digest=draw.ballot_digest if draw.status != Draw.Status.OPEN else "",
        # revealed_seed is None until the winners are drawn (docs/fairness.md).
        seed=draw.revealed_seed if with_secrets_once_drawn else None,
    )


def draw_or_404(date: dt.date) -> Draw:
    try:
        return selectors.draw_get(date=date)
    except DrawNotFound as exc:
        raise Http404(exc.detail) from exc


def open_draws() -> list[Draw]:
    """Draws that still take ballots by the clock (the scheduler may not have closed one yet)."""
    return list(selectors.draws_accepting(now=timezone.now()))


def paginate(request: HttpRequest, items: Any, per_page: int) -> Page:
    return Paginator(items, per_page).get_page(request.GET.get("page"))
