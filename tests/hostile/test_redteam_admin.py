"""Red team: a staff member with nothing but a view permission sends the admin a NUL.

The changelist filters on any field of its model named in the URL. PostgreSQL refuses a NUL
in any text it is given, so `/admin/draws/draw/?type_name=%00` was a 500 (a DataError while
counting the rows). Every registered admin, every text field: refused (400) like any other
disallowed lookup, on SQLite as on PostgreSQL.
"""

import pytest
from django.contrib import admin
from django.db import models

from lottery.core.secrets import secret_fields
from tests.hostile.test_admin_secret_lookups import REGISTERED, _label, changelist, viewer


def text_fields(model: type[models.Model]) -> list[str]:
    return [
        field.name
        for field in model._meta.concrete_fields
        if isinstance(field, models.CharField | models.TextField) and field.name not in secret_fields(model)
    ]


@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_a_nul_in_a_changelist_filter_is_refused_not_a_500(world, model):
    client = viewer(model)
    client.raise_request_exception = False
    url = changelist(model)
    fields = text_fields(model)
    if not fields:
        pytest.skip(f"{_label(model)} has no text field")
    for name in fields:
        for lookup, value in {"": "\x00", "__startswith": "a\x00", "__in": "a,\x00"}.items():
            response = client.get(url, {name + lookup: value})
            assert response.status_code == 400, (f"{url}?{name}{lookup}={value!r}", response.status_code)
        assert client.get(url, {name: "x"}).status_code == 200  # the control: the filter itself is allowed


def test_the_walk_covers_the_admins_with_text_filters():
    assert sum(bool(text_fields(model)) for model in admin.site._registry) >= 6
