"""Template helpers for the pages: masked IBANs, countdown text, accessible form widgets."""

import datetime as dt

from django import template
from django.forms import BoundField
from django.utils import timezone
from django.utils.safestring import SafeString

register = template.Library()

BULLETS = "••••"


@register.filter
def iban_masked(iban: str | None) -> str:
    """ "DE89370400440532013000" → "DE89 •••• •••• •••• 3000": enough to recognise, not to copy."""
    compact = "".join((iban or "").split())
    if not compact:
        return ""
    if len(compact) <= 8:
        return f"{compact[:2]}{BULLETS}"
    groups = max(1, (len(compact) - 8) // 4)
    return " ".join([compact[:4], *([BULLETS] * groups), compact[-4:]])


@register.filter
def time_left(moment: dt.datetime | None) -> str:
    """ "3 h 12 min" until `moment` (the server-rendered text a small script then keeps live)."""
    if moment is None:
        return ""
    seconds = int((moment - timezone.now()).total_seconds())
    if seconds <= 0:
        return "closing now"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min" if minutes else "less than a minute"


@register.filter
def iso(moment: dt.datetime | dt.date | None) -> str:
    return moment.isoformat() if moment is not None else ""


@register.simple_tag
def field_widget(bound: BoundField, **attrs: str) -> SafeString:
    """The field's input, described by its help text and errors for screen readers."""
    described = []
    if bound.help_text:
        described.append(f"{bound.auto_id}_help")
    if bound.errors:
        described.append(f"{bound.auto_id}_errors")
        attrs["aria-invalid"] = "true"
    if described:
        attrs["aria-describedby"] = " ".join(described)
    widget_attrs: dict[str, str | bool] = {k.replace("_", "-"): v for k, v in attrs.items()}
    return bound.as_widget(attrs=widget_attrs)
