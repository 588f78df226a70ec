"""A draw's ballot list, read without ORM objects (docs/fairness.md, docs/architecture.md).

The list is read in pages of ascending ids, each page already as ballots.txt text, so the
close hashes a million ids in a few queries with flat memory. Remembering where each page
starts lets the close then fetch the few winning ids by position with a short index scan
instead of numbering the whole list.
"""

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from django.db import connection

from .models import Ballot

PAGE_SIZE = 65_536


@dataclass
class PageIndex:
    """Where each page of the list starts: its first position and the id just before it."""

    starts: list[int] = field(default_factory=list)
    ids_before: list[int] = field(default_factory=list)

    def add(self, start: int, id_before: int) -> None:
        self.starts.append(start)
        self.ids_before.append(id_before)

    def locate(self, position: int) -> tuple[int, int]:
        """(id before the page holding `position`, offset of `position` inside that page)."""
        page = bisect.bisect_right(self.starts, position) - 1
        return self.ids_before[page], position - self.starts[page]


def _page(cursor, draw_id: int, after: int) -> tuple[int, int, bytes]:
    """(count, last id, "id\\n"... bytes) of the next page of ids after `after`."""
    table = Ballot._meta.db_table
    if connection.vendor == "postgresql":
        # ARRAY(subquery) keeps the index scan's order, so no second sort: an aggregate's own
        # ORDER BY (string_agg(... ORDER BY id)) sorted every page again and took 2-3x as long.
        # OFFSET 0 keeps the planner from inlining `a` and so running the scan once per use.
        cursor.execute(
            "SELECT cardinality(a), a[cardinality(a)], array_to_string(a, E'\\n') FROM "  # noqa: S608
            f"(SELECT ARRAY(SELECT id FROM {table} WHERE draw_id = %s AND id > %s ORDER BY id LIMIT %s) a "
            "OFFSET 0) page",
            [draw_id, after, PAGE_SIZE],
        )
        count, last, text = cursor.fetchone()
        return count, last or after, (text + "\n").encode() if count else b""
    cursor.execute(
        f"SELECT id FROM {table} WHERE draw_id = %s AND id > %s ORDER BY id LIMIT %s",  # noqa: S608
        [draw_id, after, PAGE_SIZE],
    )
    ids = [row[0] for row in cursor.fetchall()]
    return len(ids), ids[-1] if ids else after, "".join(f"{i}\n" for i in ids).encode()


def ballot_txt_pages(draw_id: int, index: PageIndex | None = None) -> Iterator[bytes]:
    """The exact bytes of ballots.txt ("id\\n" ascending), page by page; fills `index`."""
    after, position = 0, 0
    with connection.cursor() as cursor:
        while True:
            count, last, text = _page(cursor, int(draw_id), after)
            if not count:
                return
            if index is not None:
                index.add(position, after)
            yield text
            after, position = last, position + count
            if count < PAGE_SIZE:
                return


def ballot_ids_at(draw_id: int, positions: Sequence[int], index: PageIndex | None = None) -> dict[int, int]:
    """{position in the ascending ballot list: ballot id} for the given positions."""
    if index is None:
        index = PageIndex()
        for _ in ballot_txt_pages(draw_id, index):
            pass
    table = Ballot._meta.db_table
    found = {}
    with connection.cursor() as cursor:
        for position in positions:
            id_before, offset = index.locate(position)
            cursor.execute(
                f"SELECT id FROM {table} WHERE draw_id = %s AND id > %s ORDER BY id LIMIT 1 OFFSET %s",  # noqa: S608
                [int(draw_id), id_before, offset],
            )
            row = cursor.fetchone()
            if row is not None:
                found[position] = int(row[0])
    return found
