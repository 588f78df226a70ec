"""Staff, at any rank, never learn a secret field through the admin (docs/threat-model.md).

Django's changelist filters on any model field named in the URL, so one request such as
`?date=D&seed__regex=^\\x[0-7]` answers a yes/no question about a secret, and some 256 of
them recover an open draw's seed. Every registered ModelAdmin and every field declared in
lottery.core.secrets.SECRET_FIELDS is walked here, from outside, as the attacker would.
"""

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.test import Client
from django.urls import reverse

from lottery.core.admin import SecretFieldsAdmin
from lottery.core.models import OutboxEmail
from lottery.core.secrets import SECRET_FIELDS, secret_fields
from lottery.draws.models import Draw
from tests.factories import DEFAULT_PASSWORD, UserFactory

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)

# Lookups an attacker would try: exact guesses, prefix and pattern oracles, comparisons
# (a binary search), emptiness.
LOOKUPS = {
    "": "x",
    "__exact": "x",
    "__in": "a,b",
    "__isnull": "False",
    "__regex": ".",
    "__iregex": ".",
    "__startswith": "a",
    "__endswith": "a",
    "__contains": "a",
    "__gt": "0",
    "__gte": "0",
    "__lt": "z",
    "__range": "0,z",
}

# Field names that look secret but are not, and why. A new field whose name looks secret
# must be declared in SECRET_FIELDS or added here with its reason.
NOT_SECRET = {
    "core.OutboxEmail.key": "event key `<kind>:<user id>:<uuid4>`, holds no token",
    "draws.Draw.ballot_digest": "published in the proof",
    "draws.Draw.beacon_signature": "the public beacon's signature, published in the proof",
    "payments.Order.idempotency_key": "chosen by the client; a replay needs the owner's credentials",
}
SECRET_LOOKING = re.compile(
    r"seed|pass|digest|token|body|html|key|secret|fingerprint|hash|salt|signature|session|otp|nonce|credential"
)


def _label(model: type[models.Model]) -> str:
    return model._meta.label


def viewer(model: type[models.Model], user=None) -> Client:
    """A staff member holding only the view permission of `model`."""
    if user is None:
        user = UserFactory(staff=True)
        user.user_permissions.add(
            Permission.objects.get(
                content_type=ContentType.objects.get_for_model(model),
                codename=f"view_{model._meta.model_name}",
            )
        )
    client = Client()
    client.force_login(user)
    client.staff = user
    return client


def superuser() -> Client:
    client = Client()
    client.force_login(UserFactory(staff=True, is_superuser=True))
    return client


def changelist(model: type[models.Model]) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def listed(response) -> list:
    assert response.status_code == 200, response.content[:500]
    return [obj.pk for obj in response.context["cl"].result_list]


def secret_paths(model: type[models.Model], hops: int = 2, prefix: str = "") -> dict[str, str]:
    """Every query path from `model` to a declared secret field, through up to `hops` relations
    (`seed`, `draw__seed`, `owner__auth_token_set__digest`, …), with the secret it reaches."""
    paths = {prefix + name: f"{model._meta.label}.{name}" for name in secret_fields(model)}
    if hops:
        for field in model._meta.get_fields():
            if field.is_relation and field.related_model is not None:
                paths |= secret_paths(field.related_model, hops - 1, f"{prefix}{field.name}__")
    return paths


def _token_like(text: str) -> set[str]:
    """The runs of a secret that only it holds (hex, base64, the random parts of a link): long,
    mixing letters and digits, unlike the prose and markup of a mail around them."""
    return {
        run
        for run in re.findall(r"[A-Za-z0-9]{12,}", text)
        if re.search(r"\d", run) and re.search(r"\D", run)
    }


@pytest.fixture
def secrets(world, api) -> list[str]:
    """Every secret now in the database, in the forms a page or a search would show it: reset
    and verification mails in the outbox, a pending sign-up, bearer tokens, passwords, the
    seeds of the undrawn draws, purchase fingerprints."""
    world.token(world.player)
    world.token(world.victim)
    for user in (world.player, world.victim):
        assert (
            api.post("/api/v1/auth/password/forgot", {"email": user.email}, format="json").status_code == 202
        )
    signup = {"email": "newcomer@example.org", "password": "a long new passphrase 7", "name": "New Comer"}
    assert api.post("/api/v1/auth/signup", signup, format="json").status_code == 202
    from lottery.draws.services import purchase_fingerprint

    for order in apps.get_model("payments.Order").objects.all():
        order.request_fingerprint = purchase_fingerprint({"order": order.pk, "card": "4242424242424242"})
        order.save(update_fields=["request_fingerprint"])
    found = set()
    for label, names in SECRET_FIELDS.items():
        for row in apps.get_model(label).objects.all():
            if isinstance(row, Draw) and row.revealed_seed:
                continue  # public once drawn
            for name in names:
                value = getattr(row, name)
                text = bytes(value).hex() if isinstance(value, bytes | memoryview) else str(value)
                found |= _token_like(text)
    assert len(found) > 10
    return sorted(found)


def test_every_registered_admin_is_built_on_the_secret_fields_base():
    for model in REGISTERED:
        assert isinstance(admin.site._registry[model], SecretFieldsAdmin), _label(model)


def test_the_admin_configuration_names_no_secret_field():
    assert admin.site.check(None) == []


@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_no_url_lookup_reaches_a_secret_field(world, model):
    paths = secret_paths(model)
    url = changelist(model)
    for client in (viewer(model), superuser()):
        listed(client.get(url))  # the control: this staff member does see the list
        for path in paths:
            for lookup, value in LOOKUPS.items():
                response = client.get(url, {path + lookup: value})
                assert response.status_code == 400, f"{url}?{path}{lookup}={value}"
                assert url.encode() not in response.content  # no row, no link to one
        for name in secret_fields(model):
            response = client.get(url, {"_to_field": name, "_popup": "1"})
            assert response.status_code == 400, f"{url}?_to_field={name}"


def test_the_walk_reaches_every_secret_an_admin_could():
    """The walk above is not vacuous: it tries each declared secret from some registered admin,
    directly or through relations (knox tokens through their user). Only models related to
    nothing (the session tables) are out of every admin's reach."""
    reached = {secret for model in REGISTERED for secret in secret_paths(model).values()}
    declared = {
        f"{label}.{name}"
        for label, names in SECRET_FIELDS.items()
        if apps.get_model(label) in admin.site._registry
        or any(field.is_relation for field in apps.get_model(label)._meta.get_fields())
        for name in names
    }
    assert declared <= reached
    assert len(declared) >= 9


@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_search_never_finds_a_row_by_its_secret(secrets, model):
    model_admin = admin.site._registry[model]
    if not model_admin.search_fields:
        pytest.skip(f"{_label(model)} has no search")
    client = viewer(model)
    for needle in secrets:
        for term in (needle, needle[:8]):
            assert listed(client.get(changelist(model), {"q": term})) == [], term


@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_autocomplete_never_finds_a_row_by_its_secret(secrets, model):
    """`/admin/autocomplete/` searches the related model's admin for any foreign key."""
    relations = [
        field
        for field in model._meta.get_fields()
        if field.many_to_one or field.many_to_many or field.one_to_one
        if field.concrete and field.related_model in admin.site._registry
    ]
    if not relations:
        pytest.skip(f"{_label(model)} has no relation to an admin")
    for field in relations:
        client = viewer(field.related_model)
        for needle in secrets:
            for term in (needle, needle[:8]):
                response = client.get(
                    "/admin/autocomplete/",
                    {
                        "app_label": model._meta.app_label,
                        "model_name": model._meta.model_name,
                        "field_name": field.name,
                        "term": term,
                    },
                )
                assert response.status_code in (200, 403, 404), response.content[:300]
                if response.status_code == 200:
                    assert response.json()["results"] == [], (field, term)


def _rotate_secrets() -> None:
    """Give every row the secrets of another row of its model: nothing else changes."""
    for label, names in SECRET_FIELDS.items():
        model = apps.get_model(label)
        names = [name for name in names if name != model._meta.pk.name]
        rows = list(model.objects.order_by("pk"))
        values = [[getattr(row, name) for name in names] for row in rows]
        for row, row_values in zip(rows, values[1:] + values[:1], strict=True):
            for name, value in zip(names, row_values, strict=True):
                setattr(row, name, value)
        if rows and names:
            model.objects.bulk_update(rows, names)


@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_no_ordering_depends_on_a_secret(secrets, model):
    """`?o=` sorts by a column of the list; the row order must not move when the secrets do."""
    url = changelist(model)
    staff = viewer(model).staff
    columns = viewer(model, staff).get(url).context["cl"].list_display
    orderings = [{}, *({"o": f"{sign}{i}"} for i in range(len(columns)) for sign in ("", "-"))]

    def row_orders() -> list[list]:
        staff.refresh_from_db()
        client = viewer(model, staff)  # rotated passwords end the earlier sessions
        return [listed(client.get(url, ordering)) for ordering in orderings]

    before = row_orders()
    _rotate_secrets()
    assert row_orders() == before


@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_no_admin_page_shows_a_secret(secrets, model):
    url = changelist(model)
    rows = list(model._default_manager.order_by("pk")[:4])
    for client in (viewer(model), superuser()):
        pages = [
            url,
            *(f"{url}{row.pk}/change/" for row in rows),
            *(f"{url}{row.pk}/history/" for row in rows),
        ]
        for page in pages:
            response = client.get(page)
            assert response.status_code == 200, page
            text = response.content.decode()
            for needle in secrets:
                assert needle not in text, f"{needle} shows on {page}"


def _rows_in(response) -> int | None:
    """What the attacker reads off the page: the changelist's "N draws" count, None if refused."""
    if response.status_code != 200:
        return None
    match = re.search(r'class="paginator">\s*(\d+)', response.content.decode())
    assert match
    return int(match.group(1))


def _high_bit_patterns() -> tuple[str, str]:
    """Regexes matching a seed whose first byte has its high bit set, and its complement, as
    the database's regex sees the stored bytes: PostgreSQL as bytea text (`\\x0d27…`),
    SQLite as Python's bytes repr (`b'\\r\\'Q…`)."""
    if connection.vendor == "postgresql":
        return r"^\\x[89a-f]", r"^\\x[0-7]"
    return r"""^b['"]\\x[89a-f]""", r"""^b['"](?!\\x[89a-f])"""


def test_view_only_staff_cannot_learn_one_bit_of_an_open_draws_seed(world):
    draw = world.open_draw
    attacker = viewer(Draw)
    counts = [
        _rows_in(attacker.get(changelist(Draw), {"date": str(draw.date), "seed__regex": pattern}))
        for pattern in _high_bit_patterns()
    ]
    assert counts == [None, None], f"the oracle answered {counts} for high bit {bytes(draw.seed)[0] >> 7}"
    assert _rows_in(attacker.get(changelist(Draw), {"date": str(draw.date)})) == 1  # the control


def test_a_refused_lookup_also_refuses_an_action_on_the_rows_it_selects(world):
    """An action posted to a filtered changelist acts on the filtered rows: same refusal."""
    response = superuser().post(
        f"{changelist(Draw)}?seed__regex=.",
        {"action": "close_now", "select_across": "1", "index": "0", "_selected_action": [world.open_draw.pk]},
    )
    assert response.status_code == 400
    world.open_draw.refresh_from_db()
    assert world.open_draw.status == Draw.Status.OPEN


def test_preserved_changelist_filters_on_a_secret_change_nothing(world):
    """The change page only carries `_changelist_filters` back to the list, which refuses them."""
    draw, attacker = world.open_draw, viewer(Draw)
    page = f"{changelist(Draw)}{draw.pk}/change/"
    for pattern in _high_bit_patterns():
        response = attacker.get(page, {"_changelist_filters": f"seed__regex={pattern}"})
        assert response.status_code == 200
        assert response.context["original"] == draw


TOKEN_CHARS = sorted("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:.")


def _char_class(chars: list[str]) -> str:
    return "[" + "".join(sorted(chars, key=lambda c: c == "-")) + "]"  # "-" last: a literal


def _steal_reset_token(outbox: Client, email: str, field: str) -> str | None:
    """Binary-search the reset link in the mail to `email`, one regex question at a time."""

    def matches(pattern: str) -> bool | None:
        count = _rows_in(outbox.get(changelist(OutboxEmail), {"to": email, f"{field}__regex": pattern}))
        return None if count is None else count > 0

    token = ""
    while True:
        known = "reset-password/" + "".join(_char_class([c]) for c in token)
        candidates = TOKEN_CHARS
        while len(candidates) > 1:
            half = candidates[: len(candidates) // 2]
            found = matches(known + _char_class(half))
            if found is None:
                return None
            candidates = half if found else candidates[len(half) :]
        if not matches(known + _char_class(candidates)):
            return token or None
        token += candidates[0]


def test_outbox_viewer_cannot_take_over_the_superuser_through_a_reset_mail(world, api):
    boss = UserFactory(staff=True, is_superuser=True)
    assert api.post("/api/v1/auth/password/forgot", {"email": boss.email}, format="json").status_code == 202
    mail = OutboxEmail.objects.get(to=boss.email)
    assert "/reset-password/" in mail.body and "/reset-password/" in mail.html  # the target exists

    outbox = viewer(OutboxEmail)
    stolen = [_steal_reset_token(outbox, boss.email, field) for field in ("body", "html")]
    for token in filter(None, stolen):
        reset = {"token": token, "password": "the attacker's now 42"}
        api.post("/api/v1/auth/password/reset", reset, format="json")
    as_attacker = {"email": boss.email, "password": "the attacker's now 42"}
    assert api.post("/api/v1/auth/signin", as_attacker, format="json").status_code != 200
    assert stolen == [None, None]
    as_boss = {"email": boss.email, "password": DEFAULT_PASSWORD}
    assert api.post("/api/v1/auth/signin", as_boss, format="json").status_code == 200


def test_every_secret_looking_field_is_declared_or_explained():
    undeclared = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if not field.is_relation and SECRET_LOOKING.search(field.name)
        if field.name not in secret_fields(model) and f"{model._meta.label}.{field.name}" not in NOT_SECRET
    ]
    assert undeclared == [], (
        "declare them in lottery.core.secrets.SECRET_FIELDS or explain them in NOT_SECRET"
    )


def test_every_declared_secret_names_a_real_field():
    for label, names in SECRET_FIELDS.items():
        for name in names:
            apps.get_model(label)._meta.get_field(name)
