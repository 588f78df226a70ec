"""The Draws, Ballots and Public/staff contract of docs/api.md: statuses, codes and body shapes."""

import datetime as dt
import hashlib

import pytest
from django.utils import timezone

from lottery import verifier
from lottery.draws.calendar import lottery_date
from lottery.draws.models import Ballot, Draw
from lottery.payments.models import Order
from tests.conftest import assert_problem, travel
from tests.factories import DrawTypeFactory, UserFactory, make_ballots, make_draw

pytestmark = pytest.mark.django_db

CARD = {"card_number": "4242 4242 4242 4242", "expiry_month": 12, "expiry_year": 2099, "cvc": "123"}


@pytest.fixture
def today():
    return lottery_date(timezone.now())


@pytest.fixture
def draw(today):
    return make_draw(today, draw_type=DrawTypeFactory(name="Daily"))


def buy(client, quantity=1, draw=None, card=None, key=None):
    body = {"quantity": quantity, "payment": card or CARD}
    if draw is not None:
        body["draw"] = str(draw)
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post("/api/v1/ballots/purchase", body, format="json", **headers)


def close(client, date, **headers):
    return client.post(f"/api/v1/draws/{date}/close", **headers)


OPERATOR = {"HTTP_X_OPERATOR_TOKEN": "test-operator-token"}


def test_purchase_into_draw_returns_receipt(auth_api, draw):
    response = buy(auth_api, quantity=3, draw=draw.date)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"order_id", "quantity", "amount", "currency", "ballots"}
    assert body["quantity"] == 3 and body["amount"] == 750 and body["currency"] == "EUR"
    assert [b["status"] for b in body["ballots"]] == ["assigned"] * 3
    assert all(b["draw"] == draw.date.isoformat() and b["prize"] is None for b in body["ballots"])
    assert body["ballots"][0]["purchased_at"].endswith("Z")
    assert Ballot.objects.filter(draw=draw).count() == 3


def test_purchase_unassigned_then_assign(auth_api, draw):
    ballot_id = buy(auth_api).json()["ballots"][0]["id"]
    assert auth_api.get(f"/api/v1/ballots/{ballot_id}").json()["status"] == "unassigned"
    response = auth_api.post(f"/api/v1/ballots/{ballot_id}/assign", {"draw": str(draw.date)}, format="json")
    assert response.status_code == 200
    assert response.json()["draw"] == draw.date.isoformat() and response.json()["status"] == "assigned"
    again = auth_api.post(f"/api/v1/ballots/{ballot_id}/assign", {"draw": str(draw.date)}, format="json")
    assert_problem(again, 409, "already_assigned")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quantity": 0, "payment": CARD}, "quantity"),
        ({"quantity": 1001, "payment": CARD}, "quantity"),
        ({"quantity": "many", "payment": CARD}, "quantity"),
        ({"quantity": 1}, "payment"),
        ({"quantity": 1, "payment": {**CARD, "expiry_month": 13}}, "payment"),
        ({"quantity": 1, "payment": {**CARD, "cvc": "12"}}, "payment"),
        ({"quantity": 1, "payment": {**CARD, "card_number": "abcd"}}, "payment"),
        ({"quantity": 1, "payment": {**CARD, "expiry_year": 99}}, "payment"),
        ({"quantity": 1, "draw": "not-a-date", "payment": CARD}, "draw"),
    ],
)
def test_purchase_validation_errors(auth_api, body, field):
    body = assert_problem(
        auth_api.post("/api/v1/ballots/purchase", body, format="json"), 400, "validation_error"
    )
    assert field in body["errors"]
    assert not Order.objects.exists()


def test_purchase_card_errors(auth_api):
    declined = buy(auth_api, card={**CARD, "card_number": "4000000000000002"})
    assert_problem(declined, 402, "payment_declined")
    funds = buy(auth_api, card={**CARD, "card_number": "4000 0000 0000 9995"})
    assert "insufficient funds" in assert_problem(funds, 402, "payment_declined")["detail"]
    luhn = buy(auth_api, card={**CARD, "card_number": "4242424242424241"})
    assert "payment.card_number" in assert_problem(luhn, 400, "validation_error")["errors"]
    expired = buy(auth_api, card={**CARD, "expiry_year": 2020})
    assert_problem(expired, 400, "validation_error")
    assert not Ballot.objects.exists() and not Order.objects.exists()


def test_purchase_refused_for_unverified_banned_and_anonymous(api, draw):
    from lottery.accounts.services import auth_token_create

    assert_problem(buy(api), 401, "not_authenticated")
    for traits, code in [({"unverified": True}, "email_not_verified"), ({"banned": True}, "account_banned")]:
        client = type(api)()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {auth_token_create(user=UserFactory(**traits))}")
        assert_problem(buy(client, draw=draw.date), 403, code)
    assert not Ballot.objects.exists()


def test_purchase_into_unknown_or_closed_draw(auth_api, draw, today):
    assert_problem(buy(auth_api, draw=today + dt.timedelta(days=400)), 404, "draw_not_found")
    close(auth_api, draw.date, **OPERATOR)
    assert_problem(buy(auth_api, draw=draw.date), 409, "draw_closed")
    assert not Ballot.objects.exists()


def test_purchase_refused_from_closes_at_even_before_the_scheduler_ran(auth_api, draw):
    with travel(draw.closes_at - timezone.now() + dt.timedelta(seconds=1)):
        assert_problem(buy(auth_api, draw=draw.date), 409, "draw_closed")
    draw.refresh_from_db()
    assert draw.status == "open"


def test_idempotency_key_replays_and_rejects_reuse(auth_api, draw):
    first = buy(auth_api, quantity=2, draw=draw.date, key="order-1")
    again = buy(auth_api, quantity=2, draw=draw.date, key="order-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Order.objects.count() == 1 and Ballot.objects.count() == 2
    assert_problem(buy(auth_api, quantity=3, draw=draw.date, key="order-1"), 422, "idempotency_key_reused")
    assert Order.objects.count() == 1


def test_ballot_list_filters_and_pagination(auth_api, user, draw, today):
    make_ballots(user, 3)
    make_ballots(user, 2, draw=draw)
    make_ballots(UserFactory(), 4, draw=draw)
    page = auth_api.get("/api/v1/ballots?page_size=2").json()
    assert page["count"] == 5 and len(page["results"]) == 2 and page["next"]
    assert auth_api.get("/api/v1/ballots?status=unassigned").json()["count"] == 3
    assert auth_api.get("/api/v1/ballots?status=assigned").json()["count"] == 2
    assert auth_api.get(f"/api/v1/ballots?draw={today}").json()["count"] == 2
    assert_problem(auth_api.get("/api/v1/ballots?status=bogus"), 400, "validation_error")
    assert_problem(auth_api.get("/api/v1/ballots?draw=2026-13-01"), 400, "validation_error")
    assert_problem(auth_api.get("/api/v1/ballots?page=99"), 404, "not_found")


def test_other_users_ballots_are_invisible(auth_api, draw):
    [theirs] = make_ballots(UserFactory(), 1)
    assert_problem(auth_api.get(f"/api/v1/ballots/{theirs.pk}"), 404, "not_found")
    response = auth_api.post(f"/api/v1/ballots/{theirs.pk}/assign", {"draw": str(draw.date)}, format="json")
    assert_problem(response, 404, "not_found")
    assert auth_api.get("/api/v1/ballots").json()["count"] == 0


def test_assign_errors(auth_api, user, draw, today):
    [ballot] = make_ballots(user, 1)
    missing = auth_api.post(
        f"/api/v1/ballots/{ballot.pk}/assign", {"draw": str(today + dt.timedelta(days=300))}, format="json"
    )
    assert_problem(missing, 404, "draw_not_found")
    assert_problem(
        auth_api.post(f"/api/v1/ballots/{ballot.pk}/assign", {}, format="json"), 400, "validation_error"
    )
    close(auth_api, draw.date, **OPERATOR)
    closed = auth_api.post(f"/api/v1/ballots/{ballot.pk}/assign", {"draw": str(draw.date)}, format="json")
    assert_problem(closed, 409, "draw_closed")


def test_draw_list_detail_and_statuses(api, today):
    draw_type = DrawTypeFactory()
    draws = [make_draw(today + dt.timedelta(days=i), draw_type=draw_type) for i in range(3)]
    from lottery.draws.services import draw_close

    draw_close(draw_id=draws[0].pk, clock=timezone.now)
    open_page = api.get("/api/v1/draws?status=open").json()
    assert [d["date"] for d in open_page["results"]] == [str(d.date) for d in draws[1:]]
    closed_page = api.get("/api/v1/draws?status=closed").json()
    assert [d["date"] for d in closed_page["results"]] == [str(draws[0].date)]
    assert api.get("/api/v1/draws").json()["count"] == 3
    assert_problem(api.get("/api/v1/draws?status=weird"), 400, "validation_error")
    detail = api.get(f"/api/v1/draws/{draws[1].date}").json()
    assert set(detail) == {
        "date",
        "type",
        "status",
        "closes_at",
        "closed_at",
        "ballot_count",
        "prizes",
        "winners",
        "commitment",
    }
    assert detail["prizes"][0] == {
        "rank": 1,
        "name": "Jackpot",
        "amount": 100000,
        "currency": "EUR",
        "count": 1,
    }
    assert detail["closes_at"].endswith("Z") and detail["closed_at"] is None and detail["winners"] == []
    assert_problem(api.get("/api/v1/draws/2020-01-01"), 404, "draw_not_found")
    for bad in ["2026-02-30", "tomorrow", "2026-1-1"]:
        assert_problem(api.get(f"/api/v1/draws/{bad}"), 400, "validation_error")


def test_operator_close_then_public_winners_proof_and_ballots_txt(api, user, draw):
    ballots = make_ballots(user, 8, draw=draw)
    assert_problem(api.get(f"/api/v1/draws/{draw.date}/ballots.txt"), 409, "draw_open")
    proof_open = api.get(f"/api/v1/draws/{draw.date}/proof").json()
    assert (
        proof_open["seed"] is None and proof_open["winners"] is None and proof_open["ballot_digest"] is None
    )
    assert proof_open["commitment"] == draw.commitment

    closed = close(api, draw.date, **OPERATOR)
    assert closed.status_code == 200
    body = closed.json()
    assert body["status"] == "closed" and body["ballot_count"] == 8 and len(body["winners"]) == 6
    assert {w["winner_name"] for w in body["winners"]} == {user.public_name}
    assert all(user.email not in str(w) for w in body["winners"])

    txt = api.get(f"/api/v1/draws/{draw.date}/ballots.txt")
    assert txt.status_code == 200 and txt["Content-Type"] == "text/plain; charset=utf-8"
    content = b"".join(txt.streaming_content)
    assert content == "".join(f"{b.pk}\n" for b in sorted(ballots, key=lambda b: b.pk)).encode()
    proof = api.get(f"/api/v1/draws/{draw.date}/proof").json()
    assert proof["ballot_digest"] == hashlib.sha256(content).hexdigest()
    checks = verifier.verify_proof(proof, content, expected_commitment=proof_open["commitment"])
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    winners = api.get(f"/api/v1/draws/{draw.date}/winners").json()
    assert winners["status"] == "closed" and winners["winners"] == body["winners"]
    assert close(api, draw.date, **OPERATOR).json() == body  # idempotent


def test_close_authorization(api, auth_api, staff_api, draw, settings):
    assert_problem(close(api, draw.date), 401, "not_authenticated")
    assert_problem(close(api, draw.date, HTTP_X_OPERATOR_TOKEN="wrong"), 403, "forbidden")
    assert_problem(close(auth_api, draw.date), 403, "forbidden")
    assert_problem(close(staff_api, "2020-01-01"), 404, "draw_not_found")
    settings.LOTTERY_OPERATOR_TOKEN = ""
    assert_problem(close(api, draw.date, HTTP_X_OPERATOR_TOKEN=""), 403, "forbidden")
    draw.refresh_from_db()
    assert draw.status == "open"
    assert close(staff_api, draw.date).json()["status"] == "closed"


def test_close_with_staff_session_needs_csrf(draw):
    from rest_framework.test import APIClient

    staff = UserFactory(staff=True)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff)
    assert_problem(close(client, draw.date), 403, "forbidden")
    draw.refresh_from_db()
    assert draw.status == "open"


def test_winnings_and_ballot_statuses_after_close(auth_api, user, draw):
    ballots = make_ballots(user, 3, draw=draw)
    close(auth_api, draw.date, **OPERATOR)
    winnings = auth_api.get("/api/v1/me/winnings").json()
    assert winnings["currency"] == "EUR"
    assert len(winnings["wins"]) == 3
    assert winnings["total_amount"] == 100000 + 500 + 500
    statuses = {b["id"]: b for b in auth_api.get("/api/v1/ballots?status=won").json()["results"]}
    assert set(statuses) == {b.pk for b in ballots}
    assert all(b["prize"] and b["status"] == "won" for b in statuses.values())


def test_lost_ballots(auth_api, user, draw):
    make_ballots(UserFactory(), 10, draw=draw)
    make_ballots(user, 1, draw=draw)
    close(auth_api, draw.date, **OPERATOR)
    [mine] = auth_api.get("/api/v1/ballots").json()["results"]
    assert mine["status"] in {"won", "lost"}
    assert (mine["prize"] is None) == (mine["status"] == "lost")


def test_stats(api, user, draw):
    make_ballots(user, 4, draw=draw)
    close(api, draw.date, **OPERATOR)
    stats = api.get("/api/v1/stats").json()
    assert stats["draws_closed"] == 1 and stats["ballots_total"] == 4
    assert stats["prizes_awarded"] == 4 and stats["amount_awarded"] == 100000 + 3 * 500
    assert stats["recent_winners"][0]["date"] == str(draw.date)
    assert len(stats["recent_winners"][0]["winners"]) == 4


def test_seed_is_never_exposed_before_the_draw(api, staff_api, draw):
    seed_hex = bytes(Draw.objects.get(pk=draw.pk).seed).hex()
    for url in [
        f"/api/v1/draws/{draw.date}",
        f"/api/v1/draws/{draw.date}/proof",
        "/api/v1/draws",
        "/api/v1/stats",
    ]:
        assert seed_hex not in api.get(url).content.decode()
    from django.test import Client

    admin = Client()
    admin.force_login(UserFactory(staff=True, is_superuser=True))
    page = admin.get(f"/admin/draws/draw/{draw.pk}/change/").content.decode()
    assert seed_hex not in page and "secret until the winners are drawn" in page


def test_list_endpoints_do_not_grow_queries_with_rows(
    api, auth_api, user, draw, django_assert_max_num_queries
):
    make_ballots(user, 30, draw=draw)
    close(api, draw.date, **OPERATOR)
    with django_assert_max_num_queries(8):
        auth_api.get("/api/v1/ballots?page_size=100")
    with django_assert_max_num_queries(6):
        api.get("/api/v1/draws?status=closed")


def test_closed_draw_reads_are_cached_and_cacheable(api, user, draw, django_assert_num_queries):
    make_ballots(user, 5, draw=draw)
    open_detail = api.get(f"/api/v1/draws/{draw.date}")
    assert open_detail["Cache-Control"] == "no-cache"
    close(api, draw.date, **OPERATOR)
    urls = [f"/api/v1/draws/{draw.date}{suffix}" for suffix in ("", "/winners", "/proof")]
    first = [api.get(url) for url in urls]
    with django_assert_num_queries(0):
        again = [api.get(url) for url in urls]
    for a, b in zip(first, again, strict=True):
        assert a.status_code == b.status_code == 200
        assert a.content == b.content
        assert b["ETag"] == a["ETag"] and len(b["ETag"]) == 34
    # The detail and the winners name the winners, whose names may change: a minute at most.
    for naming in (first[0], first[1], again[0], again[1]):
        directive, max_age = naming["Cache-Control"].split(", ")
        assert directive == "public" and 0 < int(max_age.removeprefix("max-age=")) <= 60
    assert first[2]["Cache-Control"] == again[2]["Cache-Control"] == "public, max-age=31536000, immutable"
    assert again[0].json()["status"] == "closed" and again[2].json()["seed"]
