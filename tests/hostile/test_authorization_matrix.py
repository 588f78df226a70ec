"""Who may do what (P6 hostile input): every endpoint of docs/api.md against every kind of caller.

One table: a row per endpoint, a column per caller, each cell the status (and problem `code`)
docs/api.md promises. Then the privacy sweep (no response carries another user's e-mail, IBAN or
ballots), CSRF on session-authenticated unsafe requests (sign-in included), and the seed's
secrecy until the winners are drawn: in the API, the HTML pages, the admin and the logs.
"""

import base64
import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from lottery.accounts.models import User
from lottery.draws.models import Ballot, Draw
from lottery.draws.services import draw_close
from lottery.payments.models import Order
from tests.clocks import at
from tests.factories import DEFAULT_PASSWORD, DrawTypeFactory, UserFactory, make_ballots, make_draw
from tests.hostile.conftest import OPERATOR_TOKEN, VICTIM_EMAIL, VICTIM_IBAN, World

pytestmark = pytest.mark.django_db

STRONG = "an unusual and long passphrase 9731"
GOOD_PAYMENT = {"card_number": "4242 4242 4242 4242", "expiry_month": 12, "expiry_year": 2099, "cvc": "123"}

# --- callers ------------------------------------------------------------------------------

CALLERS = ["anonymous", "unverified", "verified", "banned", "other", "staff", "operator", "wrong-op"]


@dataclass
class Caller:
    name: str
    client: APIClient
    user: User | None  # whose account the request runs as (None: no account)
    ballot: Ballot  # the ballot a ballot-specific request names


@pytest.fixture
def callers(world: World) -> dict[str, Caller]:
    """`verified` is the world's player; `other` is the victim, naming the *player's* ballot."""
    users = {
        "unverified": UserFactory(unverified=True),
        "verified": world.player,
        "banned": UserFactory(banned=True),
        "other": world.victim,
        "staff": UserFactory(staff=True),
    }
    player_ballot = world.player_ballots["unassigned"][0]
    result = {}
    for name in CALLERS:
        client = APIClient()
        user = users.get(name)
        ballot = player_ballot
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.token(user)}")
            if name not in ("verified", "other"):
                ballot = make_ballots(user, 1)[0]
        elif name == "operator":
            client.credentials(HTTP_X_OPERATOR_TOKEN=OPERATOR_TOKEN)
        elif name == "wrong-op":
            client.credentials(HTTP_X_OPERATOR_TOKEN="not-the-operator-token")
        result[name] = Caller(name, client, user, ballot)
    return result


# --- requests -----------------------------------------------------------------------------

Request = tuple[str, str, dict[str, Any] | None]  # method, path, JSON body


def _signin(w: World, c: Caller) -> Request:
    # A caller with an account signs in with its own e-mail and password; one without
    # tries the player's e-mail with a wrong password.
    if c.user is None:
        return "post", "/api/v1/auth/signin", {"email": w.player.email, "password": "wrong password"}
    return "post", "/api/v1/auth/signin", {"email": c.user.email, "password": DEFAULT_PASSWORD}


REQUESTS: dict[str, Callable[[World, Caller], Request]] = {
    "POST /auth/signup": lambda w, c: (
        "post",
        "/api/v1/auth/signup",
        {"email": f"new-{c.name}@example.com", "password": STRONG, "name": "New"},
    ),
    "POST /auth/verify-email": lambda w, c: ("post", "/api/v1/auth/verify-email", {"token": "forged"}),
    "POST /auth/resend-verification": lambda w, c: (
        "post",
        "/api/v1/auth/resend-verification",
        {"email": VICTIM_EMAIL},
    ),
    "POST /auth/signin": _signin,
    "POST /auth/signout": lambda w, c: ("post", "/api/v1/auth/signout", None),
    "POST /auth/password/forgot": lambda w, c: (
        "post",
        "/api/v1/auth/password/forgot",
        {"email": VICTIM_EMAIL},
    ),
    "POST /auth/password/reset": lambda w, c: (
        "post",
        "/api/v1/auth/password/reset",
        {"token": "forged", "password": STRONG},
    ),
    "GET /me": lambda w, c: ("get", "/api/v1/me", None),
    "PATCH /me": lambda w, c: ("patch", "/api/v1/me", {"name": "Renamed"}),
    "POST /me/password": lambda w, c: (
        "post",
        "/api/v1/me/password",
        {"current_password": DEFAULT_PASSWORD, "new_password": STRONG},
    ),
    "GET /draws": lambda w, c: ("get", "/api/v1/draws", None),
    "GET /draws/{date}": lambda w, c: ("get", f"/api/v1/draws/{w.today}", None),
    "GET /draws/{date}/winners": lambda w, c: ("get", f"/api/v1/draws/{w.closed_draw.date}/winners", None),
    "GET /draws/{date}/proof": lambda w, c: ("get", f"/api/v1/draws/{w.closed_draw.date}/proof", None),
    "GET /draws/{closed}/ballots.txt": lambda w, c: (
        "get",
        f"/api/v1/draws/{w.closed_draw.date}/ballots.txt",
        None,
    ),
    "GET /draws/{open}/ballots.txt": lambda w, c: ("get", f"/api/v1/draws/{w.today}/ballots.txt", None),
    "POST /draws/{date}/close": lambda w, c: ("post", f"/api/v1/draws/{w.today}/close", None),
    "POST /ballots/purchase": lambda w, c: (
        "post",
        "/api/v1/ballots/purchase",
        {"quantity": 1, "payment": GOOD_PAYMENT},
    ),
    "GET /ballots": lambda w, c: ("get", "/api/v1/ballots", None),
    "GET /ballots/{id}": lambda w, c: ("get", f"/api/v1/ballots/{c.ballot.pk}", None),
    "POST /ballots/{id}/assign": lambda w, c: (
        "post",
        f"/api/v1/ballots/{c.ballot.pk}/assign",
        {"draw": w.today.isoformat()},
    ),
    "GET /me/winnings": lambda w, c: ("get", "/api/v1/me/winnings", None),
    "GET /stats": lambda w, c: ("get", "/api/v1/stats", None),
    "POST /users/{id}/ban": lambda w, c: ("post", f"/api/v1/users/{w.victim.pk}/ban", {"reason": "x"}),
    "POST /users/{id}/unban": lambda w, c: ("post", f"/api/v1/users/{w.victim.pk}/unban", None),
}

# --- the matrix (docs/api.md) ----------------------------------------------------------------
# A cell is the status, with the problem `code` where docs/api.md names one; NA: not applicable
# (`other` matters only where a request names someone else's ballot). Columns: anonymous,
# unverified, verified, banned, other user, staff, operator token, wrong operator token.
NA = None
UNAUTH = "401 not_authenticated"
FORBID = "403 forbidden"
UNVRFD = "403 email_not_verified"
BANNED = "403 account_banned"
NOTOWN = "404 not_found"
BADPWD = "401 invalid_credentials"
BADTOK = "400 invalid_token"
OPEN = "409 draw_open"

# fmt: off
MATRIX: dict[str, tuple[int | str | None, ...]] = {
    # endpoint                          anon    unverif verif.  banned  other   staff   op      wrong-op
    "POST /auth/signup":               (202,    202,    202,    202,    NA,     202,    202,    202),
    "POST /auth/verify-email":         (BADTOK, BADTOK, BADTOK, BADTOK, NA,     BADTOK, BADTOK, BADTOK),
    "POST /auth/resend-verification":  (202,    202,    202,    202,    NA,     202,    202,    202),
    "POST /auth/signin":               (BADPWD, UNVRFD, 200,    200,    NA,     200,    BADPWD, BADPWD),
    "POST /auth/signout":              (UNAUTH, 204,    204,    204,    NA,     204,    UNAUTH, UNAUTH),
    "POST /auth/password/forgot":      (202,    202,    202,    202,    NA,     202,    202,    202),
    "POST /auth/password/reset":       (BADTOK, BADTOK, BADTOK, BADTOK, NA,     BADTOK, BADTOK, BADTOK),
    "GET /me":                         (UNAUTH, 200,    200,    200,    NA,     200,    UNAUTH, UNAUTH),
    "PATCH /me":                       (UNAUTH, 200,    200,    200,    NA,     200,    UNAUTH, UNAUTH),
    "POST /me/password":               (UNAUTH, 204,    204,    204,    NA,     204,    UNAUTH, UNAUTH),
    "GET /draws":                      (200,    200,    200,    200,    NA,     200,    200,    200),
    "GET /draws/{date}":               (200,    200,    200,    200,    NA,     200,    200,    200),
    "GET /draws/{date}/winners":       (200,    200,    200,    200,    NA,     200,    200,    200),
    "GET /draws/{date}/proof":         (200,    200,    200,    200,    NA,     200,    200,    200),
    "GET /draws/{closed}/ballots.txt": (200,    200,    200,    200,    NA,     200,    200,    200),
    "GET /draws/{open}/ballots.txt":   (OPEN,   OPEN,   OPEN,   OPEN,   NA,     OPEN,   OPEN,   OPEN),
    "POST /draws/{date}/close":        (UNAUTH, FORBID, FORBID, FORBID, NA,     200,    200,    FORBID),
    "POST /ballots/purchase":          (UNAUTH, UNVRFD, 201,    BANNED, NA,     201,    UNAUTH, UNAUTH),
    "GET /ballots":                    (UNAUTH, 200,    200,    200,    NA,     200,    UNAUTH, UNAUTH),
    "GET /ballots/{id}":               (UNAUTH, 200,    200,    200,    NOTOWN, 200,    UNAUTH, UNAUTH),
    "POST /ballots/{id}/assign":       (UNAUTH, UNVRFD, 200,    BANNED, NOTOWN, 200,    UNAUTH, UNAUTH),
    "GET /me/winnings":                (UNAUTH, 200,    200,    200,    NA,     200,    UNAUTH, UNAUTH),
    "GET /stats":                      (200,    200,    200,    200,    NA,     200,    200,    200),
    "POST /users/{id}/ban":            (UNAUTH, FORBID, FORBID, FORBID, NA,     200,    UNAUTH, UNAUTH),
    "POST /users/{id}/unban":          (UNAUTH, FORBID, FORBID, FORBID, NA,     200,    UNAUTH, UNAUTH),
}
# fmt: on


def test_the_matrix_covers_every_endpoint_and_caller():
    assert set(MATRIX) == set(REQUESTS)
    assert all(len(row) == len(CALLERS) for row in MATRIX.values())


CELLS = [
    pytest.param(endpoint, caller, expected, id=f"{endpoint} as {caller}")
    for endpoint, row in MATRIX.items()
    for caller, expected in zip(CALLERS, row, strict=True)
    if expected is not NA
]


def send(client: APIClient, request: Request):
    method, path, body = request
    return (
        getattr(client, method)(path, body, format="json")
        if body is not None
        else getattr(client, method)(path)
    )


@pytest.mark.parametrize(("endpoint", "caller", "expected"), CELLS)
def test_authorization_matrix(world, callers, endpoint, caller, expected):
    status, _, code = str(expected).partition(" ")
    response = send(callers[caller].client, REQUESTS[endpoint](world, callers[caller]))
    assert response.status_code == int(status), response.content[:500]
    if code:
        assert response["Content-Type"].startswith("application/problem+json")
        assert response.json()["code"] == code


def test_a_refused_purchase_or_assignment_changes_nothing(world, callers):
    orders, ballots = Order.objects.count(), list(Ballot.objects.values_list("pk", "draw_id"))
    for caller in ("anonymous", "unverified", "banned", "operator", "wrong-op"):
        send(callers[caller].client, REQUESTS["POST /ballots/purchase"](world, callers[caller]))
    for caller in ("anonymous", "unverified", "banned", "other", "operator", "wrong-op"):
        send(callers[caller].client, REQUESTS["POST /ballots/{id}/assign"](world, callers[caller]))
    assert Order.objects.count() == orders
    assert list(Ballot.objects.values_list("pk", "draw_id")) == ballots


def test_only_staff_and_the_operator_token_closed_the_draw(world, callers):
    for caller in ("anonymous", "unverified", "verified", "banned", "wrong-op"):
        send(callers[caller].client, REQUESTS["POST /draws/{date}/close"](world, callers[caller]))
    world.open_draw.refresh_from_db()
    assert world.open_draw.status == Draw.Status.OPEN
    assert send(callers["operator"].client, REQUESTS["POST /draws/{date}/close"](world, callers["operator"]))
    world.open_draw.refresh_from_db()
    assert world.open_draw.status == Draw.Status.CLOSED


# --- nobody sees another user's e-mail, IBAN or ballots -------------------------------------


def _ballot_ids_in(payload: Any) -> Iterator[int]:
    """Ids of every Ballot object (and every personal win) anywhere in a JSON payload."""
    if isinstance(payload, dict):
        if "purchased_at" in payload and "id" in payload:
            yield payload["id"]
        if "ballot_id" in payload and "winner_name" not in payload and "slot" not in payload:
            yield payload["ballot_id"]  # /me/winnings; public winners and proofs name ballots by design
        for value in payload.values():
            yield from _ballot_ids_in(value)
    elif isinstance(payload, list):
        for value in payload:
            yield from _ballot_ids_in(value)


def assert_no_victim_data(world: World, response, where: str) -> None:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", "replace")
    assert VICTIM_EMAIL not in text.lower(), f"{where} leaks the victim's e-mail"
    assert VICTIM_IBAN not in text.replace(" ", ""), f"{where} leaks the victim's IBAN"
    if response.get("Content-Type", "").startswith(("application/json", "application/problem+json")):
        leaked = set(_ballot_ids_in(json.loads(text))) & set(world.victim_ballot_ids)
        assert not leaked, f"{where} shows the victim's ballots {sorted(leaked)}"


LIST_QUERIES = [
    "/api/v1/ballots",
    "/api/v1/ballots?status=assigned",
    "/api/v1/ballots?status=unassigned",
    "/api/v1/ballots?status=won",
    "/api/v1/ballots?status=lost",
    "/api/v1/ballots?page_size=100",
    "/api/v1/draws?status=closed",
    "/api/v1/draws?status=open",
]


@pytest.mark.parametrize("caller", [c for c in CALLERS if c != "other"])
def test_no_response_leaks_the_victims_email_iban_or_ballots(world, callers, caller):
    """The victim is `other`: every endpoint, called by anyone else, is scanned for their data."""
    me = callers[caller]
    for endpoint, build in REQUESTS.items():
        if endpoint in ("POST /auth/signout", "POST /me/password"):
            continue  # they would end this caller's token; checked at the end
        response = send(me.client, build(world, me))
        assert_no_victim_data(world, response, f"{endpoint} as {caller}")
    for path in LIST_QUERIES + [f"/api/v1/ballots?draw={d}" for d in (world.today, world.closed_draw.date)]:
        assert_no_victim_data(world, me.client.get(path), f"GET {path} as {caller}")
    for ballot_id in world.victim_ballot_ids:  # asking for them by id: 404 (or 401), nothing else
        for response in (
            me.client.get(f"/api/v1/ballots/{ballot_id}"),
            me.client.post(f"/api/v1/ballots/{ballot_id}/assign", {"draw": str(world.today)}, format="json"),
        ):
            assert response.status_code in (401, 403, 404), response.content
            assert_no_victim_data(world, response, f"victim's ballot {ballot_id} as {caller}")
    for endpoint in ("POST /me/password", "POST /auth/signout"):
        assert_no_victim_data(world, send(me.client, REQUESTS[endpoint](world, me)), endpoint)


def test_the_leak_scan_does_see_the_victims_data_in_the_victims_own_responses(world, callers):
    """The control: the scan above would fail if the data were there."""
    victim = callers["other"].client
    for path in ("/api/v1/me", "/api/v1/ballots?page_size=100"):
        with pytest.raises(AssertionError, match=r"leaks|shows"):
            assert_no_victim_data(world, victim.get(path), path)


def test_profile_update_cannot_take_over_another_users_email(world, callers):
    client = callers["verified"].client
    response = client.patch("/api/v1/me", {"email": VICTIM_EMAIL, "name": "Pat"}, format="json")
    assert response.status_code == 200
    assert response.json()["email"] == world.player.email
    assert User.objects.get(pk=world.victim.pk).email == VICTIM_EMAIL


def test_staff_ban_answer_carries_no_personal_data(world, callers):
    response = callers["staff"].client.post(f"/api/v1/users/{world.victim.pk}/ban", {}, format="json")
    assert response.status_code == 200
    assert response.json() == {"id": world.victim.pk, "banned": True}


# --- CSRF: session-authenticated unsafe requests need the token -----------------------------

CSRF_SECRET = "a" * 32  # Django accepts an unmasked 32-character secret in cookie and header


def session_client(user: User, *, csrf: bool) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    if csrf:
        client.cookies["csrftoken"] = CSRF_SECRET
        client.credentials(HTTP_X_CSRFTOKEN=CSRF_SECRET)
    return client


UNSAFE_SESSION_REQUESTS = [
    "POST /auth/signout",
    "PATCH /me",
    "POST /me/password",
    "POST /ballots/purchase",
    "POST /ballots/{id}/assign",
    "POST /draws/{date}/close",
    "POST /users/{id}/ban",
    "POST /users/{id}/unban",
]


@pytest.mark.parametrize("endpoint", UNSAFE_SESSION_REQUESTS)
def test_session_authenticated_unsafe_request_without_csrf_token_is_refused(world, endpoint):
    staff = UserFactory(staff=True)  # may do everything, so only CSRF can refuse it
    caller = Caller("staff", session_client(staff, csrf=False), staff, make_ballots(staff, 1)[0])
    orders = Order.objects.count()
    response = send(caller.client, REQUESTS[endpoint](world, caller))
    assert response.status_code == 403, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "forbidden"
    assert "CSRF" in response.json()["detail"]
    assert Order.objects.count() == orders
    world.open_draw.refresh_from_db()
    assert world.open_draw.status == Draw.Status.OPEN


@pytest.mark.parametrize("endpoint", UNSAFE_SESSION_REQUESTS)
def test_the_same_session_request_with_the_csrf_token_passes(world, endpoint):
    staff = UserFactory(staff=True)
    caller = Caller("staff", session_client(staff, csrf=True), staff, make_ballots(staff, 1)[0])
    response = send(caller.client, REQUESTS[endpoint](world, caller))
    assert response.status_code in (200, 201, 204), response.content


def test_bearer_token_requests_need_no_csrf_token(world):
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.token(world.player)}")
    response = client.post(
        "/api/v1/ballots/purchase", {"quantity": 1, "payment": GOOD_PAYMENT}, format="json"
    )
    assert response.status_code == 201, response.content


SIGNIN = {"email": VICTIM_EMAIL, "password": DEFAULT_PASSWORD}


def test_json_signin_without_a_session_cookie_needs_no_csrf_token(world):
    response = APIClient(enforce_csrf_checks=True).post("/api/v1/auth/signin", SIGNIN, format="json")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("cookie", ["signed-in session", "forged session id"])
def test_signin_carrying_a_session_cookie_needs_the_csrf_token(world, cookie):
    client = APIClient(enforce_csrf_checks=True)
    if cookie == "signed-in session":
        client.force_login(world.player)  # login CSRF: someone else's form signing this browser in
    else:
        client.cookies["sessionid"] = "forged"
    response = client.post("/api/v1/auth/signin", SIGNIN, format="json")
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "forbidden"
    client.cookies["csrftoken"] = CSRF_SECRET
    response = client.post("/api/v1/auth/signin", SIGNIN, format="json", HTTP_X_CSRFTOKEN=CSRF_SECRET)
    assert response.status_code == 200, response.content


def test_html_signin_form_needs_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    if client.get("/signin").status_code == 404:
        pytest.skip("the /signin page does not exist yet")
    response = client.post("/signin", {"email": VICTIM_EMAIL, "password": DEFAULT_PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


# --- the seed stays secret until the winners are drawn -------------------------------------


def seed_forms(draw: Draw) -> list[str]:
    seed = bytes(draw.seed)
    return [seed.hex(), seed.hex().upper(), base64.b64encode(seed).decode(), repr(seed)[2:-1]]


def assert_seed_absent(draw: Draw, text: str, where: str) -> None:
    for form in seed_forms(draw):
        assert form not in text, f"the seed of {draw.date} ({draw.status}) appears in {where}"


def _text(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode("utf-8", "replace")


@pytest.fixture
def secret_draws(world) -> list[Draw]:
    """Today's open draw (with ballots) and a frozen `drawing` draw waiting for its beacon round."""
    frozen = make_draw(world.today - dt.timedelta(days=2), draw_type=world.open_draw.draw_type)
    make_ballots(world.player, 2, draw=frozen, now=frozen.closes_at - dt.timedelta(hours=1))
    Draw.objects.filter(pk=frozen.pk).update(
        beacon_source="http://127.0.0.1:9/beacon", beacon_chain="ab" * 32, beacon_round=123
    )
    frozen = draw_close(draw_id=frozen.pk, clock=at(frozen.closes_at))
    assert frozen.status == Draw.Status.DRAWING
    return [world.open_draw, frozen]


def test_seed_is_in_no_api_response_before_the_draw(world, secret_draws, callers):
    for draw in secret_draws:
        paths = [
            f"/api/v1/draws/{draw.date}",
            f"/api/v1/draws/{draw.date}/proof",
            f"/api/v1/draws/{draw.date}/winners",
            f"/api/v1/draws/{draw.date}/ballots.txt",
            "/api/v1/draws",
            "/api/v1/draws?status=open",
            "/api/v1/draws?status=drawing",
            "/api/v1/stats",
            "/api/v1/ballots?page_size=100",
            "/api/v1/me/winnings",
        ]
        for caller in ("anonymous", "verified", "staff", "operator"):
            for path in paths:
                response = callers[caller].client.get(path)
                assert response.status_code < 500
                assert_seed_absent(draw, _text(response), f"GET {path} as {caller}")
        assert callers["verified"].client.get(f"/api/v1/draws/{draw.date}/proof").json()["seed"] is None
    # the control: once drawn, the proof does reveal it (so the scan above can see a seed)
    closed = world.closed_draw
    proof = callers["anonymous"].client.get(f"/api/v1/draws/{closed.date}/proof").json()
    assert proof["seed"] == bytes(closed.seed).hex()


PAGES = ["/", "/draws", "/draws/closed", "/stats", "/ballots", "/winnings", "/profile"]


def test_seed_is_in_no_html_page_before_the_draw(world, secret_draws):
    browser = Client()
    browser.force_login(world.player)
    seen = 0
    for draw in secret_draws:
        for path in [*PAGES, f"/draws/{draw.date}", f"/draws/{draw.date}/verify"]:
            for client in (Client(), browser):
                response = client.get(path)
                if response.status_code == 404:
                    continue  # the page is not built yet
                seen += 1
                assert response.status_code < 500, path
                assert_seed_absent(draw, _text(response), f"the page {path}")
    if not seen:
        pytest.skip("no HTML page exists yet")


def test_seed_is_not_in_the_admin_before_the_draw(world, secret_draws):
    admin = Client()
    admin.force_login(UserFactory(staff=True, is_superuser=True))
    for draw in secret_draws:
        for path in [
            "/admin/draws/draw/",
            f"/admin/draws/draw/{draw.pk}/change/",
            "/admin/draws/draw/?status__exact=open",
            "/admin/core/auditentry/",
            "/admin/draws/ballot/",
        ]:
            response = admin.get(path)
            assert response.status_code == 200, path
            assert_seed_absent(draw, _text(response), f"the admin page {path}")
        change = _text(admin.get(f"/admin/draws/draw/{draw.pk}/change/"))
        assert "secret until the winners are drawn" in change
    closed = _text(admin.get(f"/admin/draws/draw/{world.closed_draw.pk}/change/"))
    assert bytes(world.closed_draw.seed).hex() in closed  # revealed there once drawn


def test_seed_is_in_no_log_record_or_email_before_the_close(db, caplog, settings):
    """The whole life of a draw, logged at DEBUG: created by the scheduler, bought into over
    the API (e-mails sent), closed by the operator. Not one record before the close holds
    the seed; the close itself reveals it only in the proof."""
    from lottery.draws.services import draws_ensure_upcoming

    settings.LOTTERY_DRAWS_AHEAD_DAYS = 1
    caplog.set_level(logging.DEBUG)
    DrawTypeFactory(name="Daily")
    now = timezone.now()
    draws_ensure_upcoming(now=now)
    draw = Draw.objects.order_by("date").first()
    assert draw is not None and draw.status == Draw.Status.OPEN

    buyer = UserFactory()
    client = APIClient()
    signin = client.post(
        "/api/v1/auth/signin", {"email": buyer.email, "password": DEFAULT_PASSWORD}, format="json"
    )
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {signin.json()['token']}")
    for quantity in (1, 3):
        body = {"quantity": quantity, "draw": str(draw.date), "payment": GOOD_PAYMENT}
        assert client.post("/api/v1/ballots/purchase", body, format="json").status_code == 201
    client.post(
        "/api/v1/ballots/purchase", {"quantity": 1, "payment": {**GOOD_PAYMENT, "cvc": "x"}}, format="json"
    )
    APIClient().post(
        "/api/v1/auth/signup", {"email": "new@example.com", "password": STRONG, "name": "N"}, format="json"
    )
    for path in (
        f"/api/v1/draws/{draw.date}",
        f"/api/v1/draws/{draw.date}/proof",
        "/api/v1/draws/1999-01-01",
    ):
        client.get(path)
    before_close = list(caplog.records)
    assert before_close, "nothing was logged: the test would prove nothing"
    for record in before_close:
        text = f"{record.name} {record.getMessage()} {record.exc_text or ''}"
        assert_seed_absent(draw, text, f"the log record {record.name}: {record.getMessage()[:200]}")
    from lottery.core.outbox import outbox_deliver_due

    outbox_deliver_due(now=timezone.now())
    for message in mail.outbox:
        assert_seed_absent(draw, f"{message.subject}\n{message.body}", f"the e-mail {message.subject!r}")

    operator = APIClient()
    operator.credentials(HTTP_X_OPERATOR_TOKEN=OPERATOR_TOKEN)
    closed = operator.post(f"/api/v1/draws/{draw.date}/close")
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    proof = APIClient().get(f"/api/v1/draws/{draw.date}/proof").json()
    assert proof["seed"] == bytes(Draw.objects.get(pk=draw.pk).seed).hex()
