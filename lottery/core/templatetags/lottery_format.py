from decimal import Decimal

from django import template

register = template.Library()

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


@register.filter
def money(cents: int | None, currency: str = "EUR") -> str:
    """12345, "EUR" → "€123.45" (amounts are integer cents)."""
    if cents is None:
        return ""
    value = Decimal(int(cents)) / 100
    symbol = _SYMBOLS.get(currency)
    text = f"{value:,.2f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"
