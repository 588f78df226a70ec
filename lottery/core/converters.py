"""`<dbid:name>`: a path id the database can hold, or no match at all (a plain 404).

Django's `<int:…>` matches any run of digits; the ORM then refuses an out-of-range value
itself, but hand-written SQL does not, and 2**64 reached SQLite as an OverflowError (a 500).
Every URL pattern with a row id uses this converter instead, so an id outside 1..the largest
BigAutoField value never reaches a view.
"""

from django.db import connection


class DatabaseIdConverter:
    # 19 digits hold every BIGINT; longer runs are no match without parsing them.
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= connection.ops.integer_field_range("BigAutoField")[1]:
            raise ValueError(f"{value} is not a database id")  # no match: 404
        return number

    def to_url(self, value: int) -> str:
        return str(value)
