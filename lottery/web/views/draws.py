"""Public pages: home, draws, one draw, in-browser verification, stats (draws.selectors)."""

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from lottery.beacon_chains import SHIPPED_CHAINS
from lottery.core.templatetags.lottery_format import money
from lottery.draws import selectors
from lottery.draws.models import Draw

from ..charts import bar_chart
from .common import draw_or_404, draw_view, open_draws, paginate

CLOSED_PER_PAGE = 10
HOME_RECENT_DRAWS = 3
CHART_DRAWS = 30


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    upcoming = [draw_view(d) for d in open_draws()]
    current = upcoming[0] if upcoming else None  # the soonest to close: count down to it
    recent = [entry for entry in _recent_winners(selectors.lottery_stats()) if entry["winners"]]
    context = {
        "current": current,
        "others": upcoming[1:7],
        "recent_winners": recent[:HOME_RECENT_DRAWS],
    }
    return render(request, "web/home.html", context)


@require_safe
def draws_open(request: HttpRequest) -> HttpResponse:
    context = {
        "draws": [draw_view(d) for d in open_draws()],
        "drawing": [draw_view(d) for d in selectors.draws_list(status=Draw.Status.DRAWING)],
        "now": timezone.now(),
    }
    return render(request, "web/draws/open.html", context)


@require_safe
def draws_closed(request: HttpRequest) -> HttpResponse:
    page = paginate(request, selectors.draws_list(status=Draw.Status.CLOSED), CLOSED_PER_PAGE)
    context = {"page": page, "draws": [draw_view(d) for d in page.object_list]}
    return render(request, "web/draws/closed.html", context)


@require_safe
def draw_detail(request: HttpRequest, date: dt.date) -> HttpResponse:
    draw = draw_view(draw_or_404(date), with_secrets_once_drawn=True)
    mine = None
    if request.user.is_authenticated:
        mine = selectors.ballots_list(user=request.user, draw_date=date).count()
    context = {"draw": draw, "my_ballot_count": mine, "now": timezone.now()}
    return render(request, "web/draws/detail.html", context)


def _same_origin_path(value: str | None) -> str | None:
    """Only a path on this site (no scheme, no host) may replace the proof or ballot list URL."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    return value


@require_safe
def draw_verify(request: HttpRequest, date: dt.date) -> HttpResponse:
    draw = draw_view(draw_or_404(date))
    api = f"/api/v1/draws/{draw.iso}"
    published = {"proof_url": f"{api}/proof", "ballots_url": f"{api}/ballots.txt"}
    chosen = {
        "proof_url": _same_origin_path(request.GET.get("proof")) or published["proof_url"],
        "ballots_url": _same_origin_path(request.GET.get("ballots")) or published["ballots_url"],
    }
    context = {
        "draw": draw,
        **chosen,
        "custom_sources": chosen != published,
        # The only beacon relay the page's CSP lets the browser contact (docs/beacon.md).
        "beacon_url": settings.LOTTERY_BEACON_URL.rstrip("/"),
        # The chains the page trusts: this repository's list, never the configured beacon's word.
        "trusted_chains": [chain.as_json() for chain in SHIPPED_CHAINS],
    }
    return render(request, "web/draws/verify.html", context)


@require_safe
def stats(request: HttpRequest) -> HttpResponse:
    totals = selectors.lottery_stats()
    currency = totals["currency"]
    recent = [draw_view(d) for d in selectors.draws_list(status=Draw.Status.CLOSED)[:CHART_DRAWS]]
    recent.reverse()  # oldest on the left
    ballots_points = [(f"{d.date:%a %d %b %Y}", f"{d.date:%d %b}", d.ballot_count) for d in recent]
    money_points = [(f"{d.date:%a %d %b %Y}", f"{d.date:%d %b}", d.awarded_total) for d in recent]
    context = {
        "totals": totals,
        "recent_winners": _recent_winners(totals),
        "recent": recent,
        "ballots_chart": bar_chart(ballots_points, format_value=lambda v: f"{v:,.0f}"),
        "money_chart": bar_chart(money_points, format_value=lambda v: _short_money(v, currency)),
    }
    return render(request, "web/stats.html", context)


def _recent_winners(stats: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"date": dt.date.fromisoformat(entry["date"]), "winners": entry["winners"]}
        for entry in stats["recent_winners"]
    ]


def _short_money(cents: float, currency: str) -> str:
    """Axis labels: "€1,500" rather than "€1,500.00"."""
    text = money(int(cents), currency)
    return text[:-3] if text.endswith(".00") else text
