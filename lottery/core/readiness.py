"""What /readyz checks: the database, and the broker when one is configured."""

from typing import Any

from django.conf import settings
from django.db import connection


def _database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def _broker() -> dict[str, Any]:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def _outbox() -> dict[str, Any]:
    """Informational: a backlog means mail is late, not that this instance cannot serve."""
    from .outbox import outbox_backlog

    try:
        return {"ok": True, "backlog": outbox_backlog()}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def readiness_checks() -> dict[str, dict[str, Any]]:
    checks = {"database": _database()}
    if checks["database"]["ok"]:
        checks["outbox"] = _outbox()
    if settings.LOTTERY_HAS_BROKER:
        checks["broker"] = _broker()
    return checks
