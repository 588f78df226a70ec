"""The fields no one reads through the admin, at any staff rank (docs/threat-model.md).

Declared once, here, by model label: the admin base refuses every lookup, search, ordering
and display that reaches one of them, and the tests iterate this declaration.
"""

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.constants import LOOKUP_SEP

SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "accounts.User": ("password",),
    # The pending sign-up's password hash, and the key its e-mailed link is bound to.
    "accounts.SignupAttempt": ("password", "key"),
    "accounts.AccountSession": ("session_key", "session_data"),
    # The e-mailed one-time links (password reset, address verification) are in the text.
    "core.OutboxEmail": ("body", "html"),
    # Secret until the winners are drawn; public in the proof after, so never needed here.
    "draws.Draw": ("seed",),
    # Keyed digest of a purchase body, which holds the card details.
    "payments.Order": ("request_fingerprint",),
    # `token_key` is the first characters of the bearer token itself.
    "knox.AuthToken": ("digest", "token_key"),
    "sessions.Session": ("session_key", "session_data"),
}


def secret_fields(model: type[models.Model]) -> tuple[str, ...]:
    concrete = model._meta.concrete_model or model
    return SECRET_FIELDS.get(concrete._meta.label, ())


def lookup_touches_secret(model: type[models.Model], lookup: str) -> bool:
    """Whether a query path reaches a secret field, on `model` or on a model it follows a
    relation to: `draw__seed__regex`, or an ordering (`-seed`) or search field (`^body`)."""
    opts = model._meta
    for part in lookup.lstrip("-^=@").split(LOOKUP_SEP):
        try:
            field = opts.pk if part == "pk" else opts.get_field(part)
        except FieldDoesNotExist:
            return False  # a transform or a lookup: the rest of the path names no field
        if isinstance(field, models.Field) and field.name in secret_fields(field.model):
            return True
        related = field.related_model if field.is_relation else None
        if not (isinstance(related, type) and issubclass(related, models.Model)):
            return False
        opts = related._meta
    return False
