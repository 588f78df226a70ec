from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.contrib.admin.checks import ModelAdminChecks
from django.contrib.admin.utils import flatten, flatten_fieldsets
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.models import Group
from django.core import checks
from django.db.models import F
from django.http import HttpRequest
from knox.models import AuthToken

from .models import AuditEntry, OutboxEmail
from .secrets import lookup_touches_secret, secret_fields


def _order_names(order: Any) -> list[str]:
    """The field names an ordering (`"-seed"`, `F("seed")`, `Lower("body").desc()`) sorts by."""
    if isinstance(order, str):
        return [order]
    parts = order.flatten() if hasattr(order, "flatten") else [order]
    return [part.name for part in parts if isinstance(part, F)]  # type: ignore[attr-defined]  # not in the stubs


def _named_fields(obj: "SecretFieldsAdmin") -> Iterator[tuple[str, str]]:
    """(option, field path) for each field an option of the admin names, as Django reads them."""
    for option in ("search_fields", "list_display_links", "list_editable", "readonly_fields"):
        for name in getattr(obj, option) or ():
            if isinstance(name, str):
                yield option, name
    for item in obj.list_display:
        if isinstance(item, str):
            yield "list_display", item
            attr = getattr(obj, item, None) or getattr(obj.model, item, None)
        else:
            attr = item
        attr = attr.fget if isinstance(attr, property) else attr
        if (order := getattr(attr, "admin_order_field", None)) is not None:
            yield from (("list_display", name) for name in _order_names(order))
    for spec in obj.list_filter:
        if isinstance(spec, str | tuple | list):
            yield "list_filter", spec if isinstance(spec, str) else str(spec[0])
    if obj.date_hierarchy:
        yield "date_hierarchy", obj.date_hierarchy
    for order in obj.ordering or ():
        yield from (("ordering", name) for name in _order_names(order))
    for name in obj.sortable_by or ():
        yield "sortable_by", name
    shown = flatten_fieldsets(obj.fieldsets) if obj.fieldsets else flatten(obj.fields or ())
    yield from (("fields", name) for name in shown if not _masked_by_form(obj, name))


def _masked_by_form(obj: admin.ModelAdmin, name: str) -> bool:
    """Whether the admin's form shows this field through a read-only widget of its own, which
    prints a masked summary (Django's password hash widget) where the admin prints the value."""
    declared = obj.form.declared_fields.get(name)
    return declared is not None and getattr(declared.widget, "read_only", False)


class SecretFieldsChecks(ModelAdminChecks):
    def check(self, admin_obj: Any, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(admin_obj, **kwargs)
        model = admin_obj.model
        if model._meta.pk.name in secret_fields(model):
            errors.append(
                checks.Error(
                    f"{model._meta.label}'s primary key is secret: the admin would print it in every URL.",
                    obj=admin_obj.__class__,
                    id="lottery.E001",
                )
            )
        errors.extend(
            checks.Error(
                f"The value of '{option}' names '{name}', which reaches a secret field.",
                hint="lottery.core.secrets.SECRET_FIELDS: staff never filter, search, order or see it.",
                obj=admin_obj.__class__,
                id="lottery.E002",
            )
            for option, name in _named_fields(admin_obj)
            if lookup_touches_secret(model, name)
        )
        return errors


class SecretFieldsAdmin(admin.ModelAdmin):
    """The base of every ModelAdmin, ours and third-party ones: staff, at any rank, never filter,
    search, order by or see a field declared in lottery.core.secrets.

    Django's changelist filters on any field named in the URL (`?seed__regex=…`), and one such
    request is a yes/no oracle on the secret. Refused lookups raise DisallowedModelAdminLookup:
    a 400 that shows nothing.
    """

    checks_class = SecretFieldsChecks

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        # PostgreSQL refuses a NUL in any text it is given: a 500, not an empty list.
        if "\x00" in value or lookup_touches_secret(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        hidden = [name for name in secret_fields(self.model) if not _masked_by_form(self, name)]
        return [*(super().get_exclude(request, obj) or ()), *hidden]


class ReadOnlyAdmin(SecretFieldsAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "action", "object_type", "object_id", "actor_label"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor_label"]
    date_hierarchy = "at"


@admin.register(OutboxEmail)
class OutboxEmailAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "to", "subject", "sent_at", "attempts", "next_attempt_at"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["to", "subject", "key"]


# Third-party admins, re-registered on the base above.
admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(SecretFieldsAdmin, DjangoGroupAdmin):
    pass


# knox's admin lists tokens by their digest, which is the primary key and so in every URL
# (lottery.E001). Users end their tokens by signing out or changing or resetting the password.
admin.site.unregister(AuthToken)
