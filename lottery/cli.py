"""The `lottery` command: a thin shell over Django management and the services.

lottery serve           embedded mode: migrate, demo data, ticker, http://127.0.0.1:8000
lottery worker | beat   Celery worker / beat (production, with a broker)
lottery verify DATE --url BASE_URL
lottery seed-demo       demo accounts and draw types (development only)
lottery manage ...      any manage.py command
"""

import argparse
import datetime
import os
import sys
from collections.abc import Sequence

from lottery import __version__


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _serve(args: argparse.Namespace) -> int:
    _django()
    from django.conf import settings
    from django.core.management import call_command

    from lottery.core.demo import demo_seed
    from lottery.core.periodic import Ticker, run_periodic_once

    url = f"http://{args.host}:{args.port}"
    if "LOTTERY_BASE_URL" not in os.environ:  # neither the environment nor .env names one
        # E-mailed links must reach this server, on whatever port it was asked to listen.
        listens_everywhere = args.host in {"0.0.0.0", "::"}  # noqa: S104 - a comparison, not a bind
        reachable_host = "127.0.0.1" if listens_everywhere else args.host
        settings.LOTTERY_BASE_URL = f"http://{reachable_host}:{args.port}"
    os.makedirs(settings.STATIC_ROOT, exist_ok=True)
    call_command("migrate", interactive=False, verbosity=0)
    if not settings.PRODUCTION:
        accounts = demo_seed()
    run_periodic_once()  # upcoming draws exist before the first request
    ticker = Ticker()
    ticker.start()
    print(f"\n  Lottery is running at {url}\n", flush=True)
    if not settings.PRODUCTION:
        for account in accounts:
            print(
                f"  {'admin' if 'admin' in account.email else 'demo '} : {account.email} / {account.password}"
            )
        print(
            f"  mailbox: {url}/dev/mailbox    API docs: {url}/api/docs    admin: {url}/admin/\n", flush=True
        )
    call_command("runserver", f"{args.host}:{args.port}", use_reloader=False, use_threading=True)
    ticker.stop()
    return 0


def _celery(argv: list[str]) -> int:
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", "-A", "config", *argv]
    celery_main()
    return 0


def _web(argv: list[str]) -> int:
    from gunicorn.app.wsgiapp import run

    sys.argv = ["gunicorn", "-c", "python:config.gunicorn", *argv, "config.wsgi:application"]
    run()
    return 0


def _seed_demo(args: argparse.Namespace) -> int:
    _django()
    from lottery.core.demo import demo_seed

    for account in demo_seed():
        print(f"{account.email} / {account.password}{' (created)' if account.created else ''}")
    return 0


def _close(args: argparse.Namespace) -> int:
    _django()
    from django.utils import timezone

    from lottery.core.errors import DomainError
    from lottery.draws.services import draw_close_by_date

    try:
        draw = draw_close_by_date(date=args.date, clock=timezone.now)
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    print(f"draw {draw.date}: {draw.status}, {draw.ballot_count} ballots, digest {draw.ballot_digest}")
    return 0


def _seed_draw_types(args: argparse.Namespace) -> int:
    _django()
    from lottery.draws.defaults import draw_types_seed_defaults

    created = draw_types_seed_defaults()
    print(f"created {len(created)} draw type(s): {', '.join(t.name for t in created) or 'none'}")
    return 0


def _manage(argv: list[str]) -> int:
    _django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["lottery manage", *argv])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in {"worker", "beat"}:
        return _celery([argv[0], "--loglevel=INFO", *argv[1:]])
    if argv and argv[0] == "web":
        return _web(argv[1:])
    if argv and argv[0] == "manage":
        return _manage(argv[1:])
    if argv and argv[0] == "verify":
        from lottery.verifier import main as verify_main

        return verify_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="lottery", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"lottery {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the embedded service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=_serve)
    sub.add_parser("seed-demo", help="create demo data").set_defaults(func=_seed_demo)
    sub.add_parser("seed-draw-types", help="create the default draw types").set_defaults(
        func=_seed_draw_types
    )
    close = sub.add_parser("close", help="close a draw now (operator)")
    close.add_argument("date", type=datetime.date.fromisoformat, help="YYYY-MM-DD")
    close.set_defaults(func=_close)
    for name in ("web", "worker", "beat", "verify", "manage"):
        sub.add_parser(name, help=f"see `lottery {name} --help`")
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
