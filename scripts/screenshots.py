"""`make screenshots`: capture the main pages on desktop (1280 px) and phone (360 px).

Builds a throwaway SQLite database with a month of closed draws (through the real
services), serves it with Django's development server on a free loopback port, and drives
Debian's Chromium (/usr/bin/chromium) with Playwright. PNGs go to docs/screenshots/.

    PYTHONPATH=. .venv/bin/python scripts/screenshots.py [--out DIR] [--dark]
"""

import argparse
import datetime as dt
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demo-password-123"
IBAN = "DE89370400440532013000"
PLAYER_NAMES = [
    "Jane Doe",
    "Omar Haddad",
    "Mei Lin",
    "Lucas Martin",
    "Sofia Rossi",
    "Aisha Bello",
    "Jonas Berg",
    "Priya Nair",
    "Tom Walsh",
    "Elena Petrova",
    "Kenji Sato",
    "Chloe Dubois",
]

# (file name, path, signed in?)
PAGES = [
    ("home", "/", False),
    ("draws", "/draws", False),
    ("results", "/draws/closed", False),
    ("draw", "/draws/{closed}", False),
    ("verify", "/draws/{closed}/verify", False),
    ("stats", "/stats", False),
    ("signup", "/signup", False),
    ("signin", "/signin", False),
    ("ballots", "/ballots", True),
    ("buy", "/ballots/buy", True),
    ("winnings", "/winnings", True),
    ("profile", "/profile", True),
]
VIEWPORTS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 360, "height": 780}}
# Also captured in the dark colour scheme (all pages with --dark).
DARK_PAGES = {"home", "verify"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def at(moment: dt.datetime) -> Callable[[], dt.datetime]:
    """A clock stopped at `moment`: the demo's purchases and closes happen when it says."""
    return lambda: moment


def seed(days: int = 30) -> str:
    """A month of history through the real services; returns the latest closed date."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from lottery.accounts.models import User
    from lottery.accounts.services import user_update_profile
    from lottery.core.demo import demo_seed
    from lottery.draws.calendar import lottery_date
    from lottery.draws.services import (
        ballot_purchase,
        draw_close,
        draw_create,
        draw_type_for,
        draws_ensure_upcoming,
    )
    from lottery.payments.gateway import Card

    call_command("migrate", interactive=False, verbosity=0)
    demo_seed()
    rng = random.Random(20260101)  # noqa: S311 - reproducible demo data, not security
    now = timezone.now()
    today = lottery_date(now)
    demo = User.objects.get(email=DEMO_EMAIL)
    user_update_profile(user=demo, bank_account=IBAN)
    players = [demo] + [
        User.objects.create_user(
            f"player{i}@example.com", "player-password-123", name=name, email_verified_at=now
        )
        for i, name in enumerate(PLAYER_NAMES)
    ]
    card = Card(number="4242424242424242", expiry_month=12, expiry_year=today.year + 3, cvc="123")
    latest = today
    for back in range(days, 0, -1):
        date = today - dt.timedelta(days=back)
        draw_type = draw_type_for(date=date)
        if draw_type is None:
            continue
        created = dt.datetime.combine(date - dt.timedelta(days=7), dt.time(9), tzinfo=dt.UTC)
        draw = draw_create(date=date, draw_type=draw_type, now=created)
        if draw is None:
            continue
        buy_at = draw.closes_at - dt.timedelta(hours=3)
        for player in rng.sample(players, rng.randint(4, len(players))):
            quantity = rng.randint(1, 9)
            ballot_purchase(user=player, quantity=quantity, card=card, clock=at(buy_at), draw_date=date)
        draw_close(draw_id=draw.pk, clock=at(draw.closes_at))
        latest = date
    draws_ensure_upcoming(now=now)
    for player in players[:8]:
        ballot_purchase(user=player, quantity=rng.randint(2, 6), card=card, clock=at(now), draw_date=today)
    ballot_purchase(user=demo, quantity=3, card=card, clock=at(now))  # unassigned, to show the assign form
    return latest.isoformat()


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback server
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer at {url}")


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/signin")
    page.fill("#id_email", DEMO_EMAIL)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{base}/ballots")


def capture(base: str, out: Path, closed_date: str, all_dark: bool) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as pw:
        for scheme in ("light", "dark"):
            for device, viewport in VIEWPORTS.items():
                with tempfile.TemporaryDirectory(prefix="lottery-shots-") as profile:
                    context = pw.chromium.launch_persistent_context(
                        profile,
                        executable_path=CHROMIUM,
                        headless=True,
                        args=CHROMIUM_ARGS,
                        viewport=viewport,
                        device_scale_factor=1,
                        color_scheme=scheme,
                        is_mobile=device == "phone",
                        has_touch=device == "phone",
                        reduced_motion="reduce",
                    )
                    page = context.new_page()
                    signed_in = False
                    for name, path, needs_user in PAGES:
                        if scheme == "dark" and not all_dark and name not in DARK_PAGES:
                            continue
                        if needs_user and not signed_in:
                            sign_in(page, base)
                            signed_in = True
                        page.goto(base + path.format(closed=closed_date))
                        if name == "verify":
                            page.wait_for_selector("#verdict:not(:empty)")
                        suffix = "" if scheme == "light" else "-dark"
                        target = out / f"{name}-{device}{suffix}.png"
                        # Desktop: the whole page; phone: the first screenful, as a phone shows it.
                        page.screenshot(path=str(target), full_page=device == "desktop")
                        written.append(target)
                    context.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--dark", action="store_true", help="capture every page in the dark scheme too")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print("Chromium not installed: apt-get install -y chromium", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lottery-screens-") as tmp:
        port = free_port()
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "LOTTERY_ENV", "DJANGO_DEBUG"}
        }
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=f"sqlite:///{tmp}/screens.sqlite3",
            LOTTERY_BASE_URL=f"http://127.0.0.1:{port}",
            PYTHONPATH=str(ROOT),
        )
        os.environ.update(env)
        closed_date = seed()
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/healthz")
            for path in capture(base, args.out, closed_date, all_dark=args.dark):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        finally:
            server.terminate()
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
