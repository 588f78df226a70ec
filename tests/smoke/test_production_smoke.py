"""Production smoke test (P4): the real processes, with production settings, over real HTTP and SMTP.

gunicorn (2 workers), a Celery worker and Celery beat run as `lottery web|worker|beat`
against a fresh PostgreSQL database and a Redis DB index; e-mail goes to an SMTP server on
loopback. One journey: signup → verification e-mail → verify → sign in → buy into today's
draw → beat closes it (the only shortcut: its closes_at is moved 3 s ahead with SQL, and
back once it closed) →
winner e-mails → `lottery verify` passes. Then the logs, /metrics and the shutdown.

Runs when DATABASE_URL is PostgreSQL and REDIS_URL is set and both answer (CI: they must).
"""

import base64
import datetime as dt
import re
import secrets
import time
from zoneinfo import ZoneInfo

import pytest

from tests.harness import (
    HarnessError,
    ProductionStack,
    link_in,
    new_request_id,
    smoke_prerequisites,
    wait_for,
)

pytestmark = pytest.mark.smoke

CARD_NUMBER = "4242424242424242"
QUANTITY = 3  # fewer than the Daily draw's 14 prizes: every ballot wins, each mails its owner


def _money(cents: int) -> str:  # as the e-mail templates print EUR amounts
    return f"€{cents / 100:,.2f}"


def _metric(body: str, name: str) -> float | None:
    for line in body.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[-1])
    return None


@pytest.mark.slow
def test_production_stack_end_to_end():
    found = smoke_prerequisites()
    if isinstance(found, str):
        pytest.skip(found)
    database_url, redis_url = found
    started = time.monotonic()
    timings: dict[str, float] = {}

    with ProductionStack(database_url=database_url, redis_url=redis_url) as stack:
        timings["stack up"] = time.monotonic() - started
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in stack.timings.items())
        print(f"\nproduction stack up in {timings['stack up']:.1f} s ({phases}; {stack.workdir})")

        # --- today's draw, created by beat → worker (draws_ensure_upcoming) -------------------
        today = dt.datetime.now(ZoneInfo(stack.lottery_timezone)).date().isoformat()

        def draw_exists():
            response = stack.http("GET", f"/api/v1/draws/{today}")
            return response.json() if response.status == 200 else None

        draw = wait_for(draw_exists, timeout=30, message=f"beat and the worker to create draw {today}")
        assert draw["status"] == "open"
        assert draw["type"]
        opens = stack.http("GET", "/api/v1/draws?status=open").json()["results"]
        assert opens[0]["date"] == today  # soonest first: today's draw is the next to close

        # --- production behaviour at the edge -----------------------------------------------
        plain = stack.http("GET", "/api/v1/draws", headers={"X-Forwarded-Proto": "http"})
        assert plain.status == 301 and plain.header("Location").startswith("https://")
        home = stack.http("GET", "/", via_proxy=True)
        assert home.status == 200, home
        assert "max-age=" in home.header("Strict-Transport-Security")
        assert "script-src 'self'" in home.header("Content-Security-Policy")
        assert home.header("X-Content-Type-Options") == "nosniff"
        assert stack.http("GET", "/dev/mailbox").status == 404  # no dev mailbox in production

        # --- signup → verification e-mail over SMTP → verify → sign in ------------------------
        email = f"smoke-{secrets.token_hex(4)}@example.com"
        password = f"Smoke-{secrets.token_urlsafe(12)}-pw"
        signup_rid = new_request_id("smoke-signup")
        signup = stack.http(
            "POST",
            "/api/v1/auth/signup",
            json={"email": email, "password": password, "name": "Smoke Tester"},
            headers={"X-Request-ID": signup_rid},
        )
        assert signup.status == 202, signup
        assert signup.header("X-Request-ID") == signup_rid
        verification = stack.smtp.wait_for_mail(to=email, subject_contains="Confirm", timeout=30)
        verify_token = link_in(verification.text, stack.public_url, "verify-email")
        verified = stack.http("POST", "/api/v1/auth/verify-email", json={"token": verify_token})
        assert verified.status == 200, verified
        token = stack.sign_in(email, password)
        me = stack.http("GET", "/api/v1/me", token=token)
        assert me.status == 200 and me.json()["email_verified"] is True, me

        # --- buy into today's draw, before it is due ---------------------------------------------
        purchase_rid = new_request_id("smoke-buy")
        payment = {"card_number": CARD_NUMBER, "expiry_month": 12, "expiry_year": 2099, "cvc": "123"}
        bought = stack.http(
            "POST",
            "/api/v1/ballots/purchase",
            json={"quantity": QUANTITY, "draw": today, "payment": payment},
            headers={"X-Request-ID": purchase_rid, "Idempotency-Key": secrets.token_hex(8)},
            token=token,
        )
        assert bought.status == 201, bought
        ballot_ids = {b["id"] for b in bought.json()["ballots"]}
        assert len(ballot_ids) == QUANTITY and all(b["draw"] == today for b in bought.json()["ballots"])
        assert stack.http("GET", f"/api/v1/draws/{today}").json()["ballot_count"] == QUANTITY

        [(seed,)] = stack.sql("SELECT seed FROM draws_draw WHERE date = %s", [today])
        seed = bytes(seed)
        assert seed.hex() not in stack.http("GET", f"/api/v1/draws/{today}/proof").text

        # --- the draw falls due; beat and the worker close it --------------------------------------
        [(published_closes_at,)] = stack.sql("SELECT closes_at FROM draws_draw WHERE date = %s", [today])
        stack.sql(
            "UPDATE draws_draw SET closes_at = now() + interval '3 seconds' "
            "WHERE date = %s AND status = 'open'",
            [today],
        )
        due = time.monotonic()

        def closed():
            response = stack.http("GET", f"/api/v1/draws/{today}")
            return response.json() if response.json()["status"] == "closed" else None

        draw = wait_for(closed, timeout=30, interval=0.5, message=f"beat and the worker to close {today}")
        timings["due → closed"] = time.monotonic() - due
        # Undo the shortcut: the proof must carry the closes_at published while the draw was open
        # (the midnight ending the date), which `lottery verify` checks. Nothing has read the
        # closed draw's proof yet, so no cache holds the moved one.
        stack.sql("UPDATE draws_draw SET closes_at = %s WHERE date = %s", [published_closes_at, today])
        assert draw["ballot_count"] == QUANTITY
        assert {w["ballot_id"] for w in draw["winners"]} == ballot_ids
        late = stack.http(
            "POST",
            "/api/v1/ballots/purchase",
            json={"quantity": 1, "draw": today, "payment": payment},
            token=token,
        )
        assert late.status == 409 and late.json()["code"] == "draw_closed", late

        # --- winner e-mails over SMTP ---------------------------------------------------------------
        draw_link = f"{stack.public_url}/draws/{today}"

        def winner_mails():
            mails = [m for m in stack.smtp.messages() if email in m.rcpt_tos and "You won" in m.subject]
            return mails if len(mails) == QUANTITY else None

        mails = wait_for(winner_mails, timeout=30, message=f"{QUANTITY} winner e-mails to {email}")
        for winner in draw["winners"]:
            [mail] = [m for m in mails if f"#{winner['ballot_id']} " in m.text]
            assert winner["prize_name"] in mail.subject and winner["prize_name"] in mail.text
            assert _money(winner["amount"]) in mail.text
            assert re.search(rf"^{re.escape(draw_link)}$", mail.text, re.M), mail.text
        assert stack.http("GET", f"/draws/{today}", via_proxy=True).status == 200

        # --- independent verification, as anyone would run it --------------------------------------
        verify = stack.run_cli("verify", today, "--url", stack.public_url, timeout=60)
        assert verify.returncode == 0, verify.stdout
        print(verify.stdout.strip())

        # --- metrics --------------------------------------------------------------------------------
        metrics = stack.http("GET", "/metrics")
        assert metrics.status == 200
        sold = _metric(metrics.text, "lottery_ballots_sold_total")
        assert sold is not None and sold >= QUANTITY, metrics.text
        closed_draws = _metric(metrics.text, 'lottery_draws{status="closed"}')
        assert closed_draws is not None and closed_draws >= 1, metrics.text
        assert _metric(metrics.text, "lottery_emails_sent") >= 1 + QUANTITY

        # --- stop everything; nothing may be left ----------------------------------------------------
        stack.stop()
        assert stack.leftover_processes() == {}
        assert stack.killed_processes() == [], "did not stop on SIGTERM in time"
        assert stack.open_ports() == []

        duration = time.monotonic() - started
        timings["stop"] = stack.timings["stop"]
        timing = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
        print(f"production smoke test: {duration:.1f} s ({timing})")

        # --- logs (complete now that every process has exited) ----------------------------------------
        secrets_sent = {
            "the draw's seed (hex)": seed.hex(),
            "the draw's seed (base64)": base64.b64encode(seed).decode(),
            "the password": password,
            "the bearer token": token,
            "the card number": CARD_NUMBER,
            "the e-mail verification token": verify_token,
            "SECRET_KEY": stack.secret_key,
            "LOTTERY_OPERATOR_TOKEN": stack.operator_token,
        }
        problems = [
            *_log_format_problems(stack),
            *_request_id_problems(stack, web=[signup_rid, purchase_rid], worker=[signup_rid]),
            *_secret_problems(stack, secrets_sent),
        ]
        assert not problems, "\n".join(problems)


# Celery prints its banner on stdout; its log (and Django's) goes to stderr. When the worker
# runs as root (as CI does), Python's warnings module prints this block on stderr first.
_ROOT_WARNING = re.compile(
    r"^[^\n]*SecurityWarning: You're running the worker with superuser privileges.*?"
    r"_warn_or_raise_security_error\([^\n]*$",
    re.M | re.S,
)
_LOG_STREAMS = {"web": "both", "worker": "stderr", "beat": "stderr"}


def _records(stack: ProductionStack, name: str) -> tuple[list[dict], list[str]]:
    records, other = stack.log_records(name, _LOG_STREAMS[name])
    warning = _ROOT_WARNING.search(stack.logs(name, _LOG_STREAMS[name]))
    ignored = set(warning.group(0).splitlines()) if warning else set()
    return records, [line for line in other if line not in ignored]


def _log_format_problems(stack: ProductionStack) -> list[str]:
    """Every log line is a JSON object with a request_id, and one logged inside a request has its id."""
    problems = []
    for name in _LOG_STREAMS:
        records, other = _records(stack, name)
        if other:
            problems.append(f"{name}: {len(other)} log line(s) are not JSON, e.g. {other[:2]}")
        missing = [r for r in records if "request_id" not in r]
        if missing:
            problems.append(f"{name}: {len(missing)} JSON line(s) have no request_id, e.g. {missing[:2]}")
        # django.request logs each 4xx/5xx response: it is inside a request, so it has an id
        unmatched = [r for r in records if r.get("logger") == "django.request" and r.get("request_id") == "-"]
        if unmatched:
            problems.append(
                f"{name}: {len(unmatched)} django.request line(s) have request_id '-', e.g. {unmatched[:2]}"
            )
    return problems


def _request_id_problems(stack: ProductionStack, *, web: list[str], worker: list[str]) -> list[str]:
    """The ids sent in X-Request-ID reach the web log and, for requests that queued a task, the worker log."""
    problems = []
    for name, expected in (("web", web), ("worker", worker)):
        seen = {r.get("request_id") for r in _records(stack, name)[0]}
        problems += [f"{name}: no log line carries request id {rid}" for rid in expected if rid not in seen]
    return problems


def _secret_problems(stack: ProductionStack, values: dict[str, str]) -> list[str]:
    return [
        f"{name}: the log contains {what}"
        for name, text in stack.all_logs()
        for what, value in values.items()
        if value in text
    ]


def test_prerequisites_skip_without_services():
    assert "DATABASE_URL" in smoke_prerequisites({})
    assert "non-PostgreSQL" in smoke_prerequisites({"DATABASE_URL": "sqlite:///x", "REDIS_URL": "redis://x"})


def test_prerequisites_fail_under_ci_when_set_but_unreachable():
    unreachable = {"DATABASE_URL": "postgres://nobody@127.0.0.1:1/x", "REDIS_URL": "redis://127.0.0.1:1/0"}
    assert "not reachable" in smoke_prerequisites(unreachable)
    with pytest.raises(HarnessError, match="CI sets"):
        smoke_prerequisites({**unreachable, "CI": "true"})
