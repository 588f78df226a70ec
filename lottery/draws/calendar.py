"""Dates in the lottery's time zone. Draw D closes at the midnight that ends D, there."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings


def lottery_zone() -> ZoneInfo:
    return ZoneInfo(settings.LOTTERY_TIMEZONE)


def lottery_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(lottery_zone()).date()


def closes_at_for(date: dt.date) -> dt.datetime:
    """The instant (UTC) of the midnight ending `date` in the lottery zone. DST-safe: the
    wall-clock midnight is resolved by zoneinfo, so a 23- or 25-hour day closes correctly."""
    midnight = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(0), tzinfo=lottery_zone())
    return midnight.astimezone(dt.UTC)
