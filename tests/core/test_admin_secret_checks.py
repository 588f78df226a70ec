"""An admin option naming a secret field fails Django's system checks (`manage.py check`)."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.db.models import F

from lottery.core.admin import SecretFieldsAdmin
from lottery.core.secrets import SECRET_FIELDS

SECRETS = [(label, name) for label, names in SECRET_FIELDS.items() for name in names]


def _check_ids(model, **options) -> set[str]:
    bad_admin = type("BadAdmin", (SecretFieldsAdmin,), options)
    return {error.id for error in bad_admin(model, admin.site).check()}


@pytest.mark.parametrize(("label", "name"), SECRETS)
@pytest.mark.parametrize(
    "option",
    [
        "search_fields",
        "list_display",
        "list_display_links",
        "list_editable",
        "list_filter",
        "ordering",
        "sortable_by",
        "readonly_fields",
        "fields",
    ],
)
def test_an_option_naming_a_secret_fails_the_checks(label, name, option):
    assert "lottery.E002" in _check_ids(apps.get_model(label), **{option: [name]})


@pytest.mark.parametrize(("label", "name"), SECRETS)
def test_sorting_or_searching_by_a_secret_in_disguise_fails_the_checks(label, name):
    model = apps.get_model(label)

    @admin.display(ordering=F(name).desc())
    def innocent(obj):
        return "-"

    assert "lottery.E002" in _check_ids(model, list_display=[innocent])
    assert "lottery.E002" in _check_ids(model, ordering=[f"-{name}"])
    assert "lottery.E002" in _check_ids(model, search_fields=[f"^{name}"])
    assert "lottery.E002" in _check_ids(model, date_hierarchy=name)
    assert "lottery.E002" in _check_ids(model, fieldsets=[(None, {"fields": [("pk", name)]})])


def test_a_secret_reached_through_a_relation_fails_the_checks():
    ballot = apps.get_model("draws.Ballot")
    assert "lottery.E002" in _check_ids(ballot, list_filter=["draw__seed"])
    assert "lottery.E002" in _check_ids(ballot, search_fields=["owner__auth_token_set__digest"])
    assert "lottery.E002" not in _check_ids(ballot, search_fields=["owner__email", "draw__date"])


@pytest.mark.parametrize("label", ["knox.AuthToken", "sessions.Session", "accounts.AccountSession"])
def test_a_model_whose_primary_key_is_secret_cannot_have_an_admin(label):
    assert "lottery.E001" in _check_ids(apps.get_model(label))
