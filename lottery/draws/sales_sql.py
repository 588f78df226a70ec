"""The statements of a sale — a purchase or an assignment — written out as SQL.

Sales are the hottest write path (they surge before a draw closes). Built by the ORM, a
purchase's statements cost about 6 ms of CPU on the benchmark machine, ten times the
database's own work; written out they cost a tenth of that (docs/performance.md). The rules
stay in services.py: this module only reads and writes rows, in SQL that PostgreSQL and
SQLite both run, with values adapted and converted as the ORM would (lottery.core.rawsql).
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection

from lottery.core.rawsql import adapt_moment, from_db
from lottery.payments.models import Order

from .models import Ballot, Draw


@dataclass(frozen=True)
class DrawState:
    id: int
    date: dt.date
    status: str
    closes_at: dt.datetime


@dataclass(frozen=True)
class KeyedOrder:
    id: int
    request_fingerprint: str


@dataclass(frozen=True)
class OwnedBallot:
    id: int
    draw_id: int | None
    purchased_at: dt.datetime


def _draw_state(row: tuple[Any, ...] | None) -> DrawState | None:
    if row is None:
        return None
    return DrawState(
        id=row[0],
        date=from_db(Draw, "date", row[1]),
        status=row[2],
        closes_at=from_db(Draw, "closes_at", row[3]),
    )


_DRAW_COLUMNS = "id, date, status, closes_at"


def draw_state_by_date(date: dt.date) -> DrawState | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_DRAW_COLUMNS} FROM draws_draw WHERE date = %s",  # noqa: S608 (constant columns)
            [connection.ops.adapt_datefield_value(date)],
        )
        return _draw_state(cursor.fetchone())


def draw_state(draw_id: int) -> DrawState | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_DRAW_COLUMNS} FROM draws_draw WHERE id = %s", [draw_id])  # noqa: S608
        return _draw_state(cursor.fetchone())


def order_by_key(*, user_id: int, key: str) -> KeyedOrder | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, request_fingerprint FROM payments_order WHERE user_id = %s AND idempotency_key = %s",
            [user_id, key],
        )
        row = cursor.fetchone()
    return KeyedOrder(id=row[0], request_fingerprint=row[1]) if row else None


def order_insert(order: Order) -> int:
    """Insert `order` (its fields set, no pk yet); its new id."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO payments_order (user_id, quantity, amount, currency, draw_id, gateway, "
            "charge_reference, card_last4, created_at, capture_status, idempotency_key, "
            "request_fingerprint) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            [
                order.user_id,
                order.quantity,
                order.amount,
                order.currency,
                order.draw_id,
                order.gateway,
                order.charge_reference,
                order.card_last4,
                adapt_moment(order.created_at),
                order.capture_status,
                order.idempotency_key,
                order.request_fingerprint,
            ],
        )
        return int(cursor.fetchone()[0])


def ballots_insert(*, order: Order) -> list[int]:
    """The order's `quantity` ballots, bought (and assigned, with a draw) at its created_at, in
    one statement whatever the quantity; their ids, ascending."""
    moment = adapt_moment(order.created_at)
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
            "INSERT INTO draws_ballot (owner_id, order_id, draw_id, purchased_at, assigned_at) "
            "SELECT %s, %s, %s, %s, %s FROM n RETURNING id",
            [
                order.quantity,
                order.user_id,
                order.pk,
                order.draw_id,
                moment,
                moment if order.draw_id else None,
            ],
        )
        return sorted(row[0] for row in cursor.fetchall())


def order_ballot_ids(order_id: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM draws_ballot WHERE order_id = %s ORDER BY id", [order_id])
        return [row[0] for row in cursor.fetchall()]


def ballot_owned_for_update(*, ballot_id: int, owner_id: int) -> OwnedBallot | None:
    """The caller's ballot, row-locked until the transaction ends (where the backend can)."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, draw_id, purchased_at FROM draws_ballot WHERE id = %s AND owner_id = %s{lock}",  # noqa: S608
            [ballot_id, owner_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return OwnedBallot(id=row[0], draw_id=row[1], purchased_at=from_db(Ballot, "purchased_at", row[2]))


def ballot_assign_to(*, ballot_id: int, draw_id: int, assigned_at: dt.datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE draws_ballot SET draw_id = %s, assigned_at = %s WHERE id = %s",
            [draw_id, adapt_moment(assigned_at), ballot_id],
        )
