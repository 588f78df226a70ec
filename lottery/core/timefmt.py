import datetime as dt


def iso_utc(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC, as the API renders every datetime."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
