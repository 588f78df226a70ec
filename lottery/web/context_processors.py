"""Site-wide template context. No database access: the 500 page must render without it."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    return {
        "lottery_currency": settings.LOTTERY_CURRENCY,
        "lottery_timezone": settings.LOTTERY_TIMEZONE,
        "ballot_price": settings.LOTTERY_BALLOT_PRICE_CENTS,
        "dev_mailbox": settings.LOTTERY_DEV_MAILBOX,
    }
