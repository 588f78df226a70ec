"""The draw lock: purchases and assignments hold it shared, the close holds it exclusively.

PostgreSQL: a transaction-scoped advisory lock keyed by the draw id (cheaper than row
FOR SHARE under many concurrent buyers: no multixacts), bounded by lock_timeout so a
stuck close turns into a clean "busy" instead of a pile-up. SQLite: every write
transaction is IMMEDIATE, so the database write lock already serializes them.
"""

from django.db import OperationalError, connection

from .errors import DrawBusy

# First key of the two-int advisory lock space: "draws" (keeps clear of other users' locks).
_LOCK_NAMESPACE = 0x4C4F54


def _advisory(draw_id: int, function: str) -> None:
    if connection.vendor != "postgresql":
        return
    try:
        with connection.cursor() as cursor:
            # lock_timeout is set per connection (settings: DATABASES OPTIONS).
            cursor.execute(f"SELECT {function}(%s, %s)", [_LOCK_NAMESPACE, draw_id])
    except OperationalError as exc:
        raise DrawBusy() from exc


def draw_lock_shared(draw_id: int) -> None:
    _advisory(draw_id, "pg_advisory_xact_lock_shared")


def draw_lock_exclusive(draw_id: int) -> None:
    _advisory(draw_id, "pg_advisory_xact_lock")
