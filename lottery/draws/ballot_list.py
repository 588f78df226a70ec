"""A draw's ballot list, read without ORM objects: streamed for the digest and for
ballots.txt, and fetched by position for the few winners (FAIRNESS.md, DESIGN.md)."""

from collections.abc import Iterator, Sequence

from django.db import connection

from .models import Ballot

_CHUNK_ROWS = 20_000


def ballot_txt_chunks(draw_id: int) -> Iterator[bytes]:
    """The exact bytes of ballots.txt ("id\\n" ascending), in chunks, in flat memory."""
    table = Ballot._meta.db_table
    draw_id = int(draw_id)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY's text output of one integer column is exactly "id\n" per row.
            sql = f"COPY (SELECT id FROM {table} WHERE draw_id = {draw_id} ORDER BY id) TO STDOUT"  # noqa: S608
            with cursor.cursor.copy(sql) as copy:
                yield from (bytes(chunk) for chunk in copy)
            return
        cursor.execute(f"SELECT id FROM {table} WHERE draw_id = %s ORDER BY id", [draw_id])  # noqa: S608
        while rows := cursor.fetchmany(_CHUNK_ROWS):
            yield "".join(f"{row[0]}\n" for row in rows).encode()


def ballot_ids_at(draw_id: int, positions: Sequence[int]) -> dict[int, int]:
    """{position in the ascending ballot list: ballot id} for the given positions."""
    if not positions:
        return {}
    table = Ballot._meta.db_table
    marks = ", ".join(["%s"] * len(positions))
    sql = (
        f"SELECT pos, id FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS pos "  # noqa: S608
        f"FROM {table} WHERE draw_id = %s) numbered WHERE pos IN ({marks})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [int(draw_id), *[int(p) for p in positions]])
        return {int(pos): int(ballot_id) for pos, ballot_id in cursor.fetchall()}
