"""A player's pages: buy ballots, my ballots (assign in place with htmx), my winnings."""

import uuid
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from lottery.accounts.models import User
from lottery.accounts.services import user_assert_can_play
from lottery.core.errors import DomainError
from lottery.core.templatetags.lottery_format import money
from lottery.draws import selectors, services
from lottery.draws.errors import BallotNotFound
from lottery.draws.models import Ballot
from lottery.payments.errors import IdempotencyKeyReused
from lottery.payments.gateway import Card

from .. import forms
from .common import STATUS_LABELS, open_draws, paginate

BALLOTS_PER_PAGE = 25


def play_block(user: User) -> dict[str, str] | None:
    """Why this user may not buy or assign right now (the service decides), or None."""
    try:
        user_assert_can_play(user=user)
    except DomainError as exc:
        return {"code": exc.code, "detail": exc.detail, "reason": user.ban_reason if user.banned else ""}
    return None


def ballot_row(ballot: Ballot) -> dict[str, Any]:
    status = selectors.ballot_status(ballot)
    return {
        "id": ballot.pk,
        "draw": ballot.draw.date if ballot.draw_id else None,  # type: ignore[union-attr]
        "status": status,
        "status_label": STATUS_LABELS[status],
        "prize": selectors.ballot_prize(ballot),
        "purchased_at": ballot.purchased_at,
    }


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@login_required
@require_safe
def ballots(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    filters = forms.BallotFilterForm(request.GET or None)
    status = filters.cleaned_data.get("status") if filters.is_valid() else None
    page = paginate(request, selectors.ballots_list(user=user, status=status or None), BALLOTS_PER_PAGE)
    draws = open_draws()
    block = play_block(user)
    context = {
        "page": page,
        "rows": [ballot_row(b) for b in page.object_list],
        "status": status or "",
        "status_choices": forms.BallotFilterForm.STATUS_CHOICES,
        "assign_form": forms.AssignForm(open_draws=draws) if draws and not block else None,
        "cannot_play": block,
    }
    return render(request, "web/ballots/list.html", context)


def _back_to_ballots(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("web:ballots")


@login_required
@require_POST
def ballot_assign(request: HttpRequest, ballot_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    draws = open_draws()
    form = forms.AssignForm(request.POST, open_draws=draws)
    assigned = False
    if form.is_valid():
        try:
            services.ballot_assign(
                user=user, ballot_id=ballot_id, draw_date=form.cleaned_data["draw"], clock=timezone.now
            )
        except DomainError as exc:
            form.add_service_error(exc)
        else:
            assigned = True
    errors = [str(e) for errs in form.errors.values() for e in errs]
    if not _is_htmx(request):
        if assigned:
            messages.success(
                request, f"Ballot #{ballot_id} is in the draw of {form.cleaned_data['draw']:%d %b %Y}."
            )
        else:
            messages.error(request, f"Ballot #{ballot_id} was not assigned: {' '.join(errors)}")
        return redirect(_back_to_ballots(request))
    # htmx: answer with the ballot's row, swapped in place.
    try:
        ballot = selectors.ballot_get(user=user, ballot_id=ballot_id)
    except BallotNotFound as exc:
        raise Http404(exc.detail) from exc
    context = {
        "row": ballot_row(ballot),
        "assign_form": forms.AssignForm(open_draws=draws) if draws else None,
        "cannot_play": play_block(user),
        "row_error": " ".join(errors),
        "row_success": f"Assigned to the draw of {form.cleaned_data['draw']:%d %b %Y}." if assigned else "",
        "next": _back_to_ballots(request),
    }
    return render(request, "web/partials/ballot_row.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def ballots_buy(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    draws = open_draws()
    block = play_block(user)
    if request.method == "POST" and not block:
        form = forms.BuyForm(request.POST, open_draws=draws)
        if form.is_valid():
            response = _purchase(request, user, form)
            if response is not None:
                return response
        # Never echo the security code back into the page.
        form.data = data = cast(QueryDict, form.data).copy()
        data["cvc"] = ""
    else:
        requested = request.GET.get("draw")
        default_draw = requested or (draws[0].date.isoformat() if draws else "")
        form = forms.BuyForm(
            open_draws=draws,
            initial={"quantity": 1, "draw": default_draw, "idempotency_key": uuid.uuid4().hex},
        )
    context = {"form": form, "cannot_play": block, "draws": draws}
    return render(request, "web/ballots/buy.html", context)


def _purchase(request: HttpRequest, user: User, form: forms.BuyForm) -> HttpResponse | None:
    data = form.cleaned_data
    payment = form.card_payload()
    draw_date = data.get("draw")
    # The same body shape as the API's, so a retried form (same key) replays the first answer.
    fingerprint = services.purchase_fingerprint(
        {
            "quantity": data["quantity"],
            "draw": draw_date.isoformat() if draw_date else None,
            "payment": payment,
        }
    )
    try:
        purchase = services.ballot_purchase(
            user=user,
            quantity=data["quantity"],
            draw_date=draw_date,
            card=Card(
                number=payment["card_number"],
                expiry_month=payment["expiry_month"],
                expiry_year=payment["expiry_year"],
                cvc=payment["cvc"],
            ),
            clock=timezone.now,
            idempotency_key=data["idempotency_key"],
            fingerprint=fingerprint,
        )
    except IdempotencyKeyReused:
        form.add_error(
            None, "This form was already used for another purchase. Please check the details and buy again."
        )
        form.data = data = cast(QueryDict, form.data).copy()
        data["idempotency_key"] = uuid.uuid4().hex
        return None
    except DomainError as exc:
        form.add_service_error(exc)
        return None
    receipt = purchase.receipt
    quantity = receipt["quantity"]
    where = f" in the draw of {draw_date:%d %b %Y}" if draw_date else "; assign them to a draw below"
    messages.success(
        request,
        f"Thank you! You bought {quantity} ballot{'s' if quantity != 1 else ''} for "
        f"{money(receipt['amount'], receipt['currency'])} (order #{receipt['order_id']}){where}.",
    )
    return redirect(reverse("web:ballots") + ("" if draw_date else "?status=unassigned"))


@login_required
@require_safe
def winnings(request: HttpRequest) -> HttpResponse:
    result = selectors.user_winnings(user=request.user)  # type: ignore[arg-type]
    return render(request, "web/ballots/winnings.html", {"winnings": result})
