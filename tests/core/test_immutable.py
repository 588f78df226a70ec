"""Closed draws' reads answered from each process's memory (lottery.core.immutable)."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from lottery.core import immutable
from lottery.draws.calendar import lottery_date
from lottery.draws.services import draw_close
from tests.factories import DrawTypeFactory, UserFactory, make_ballots, make_draw

pytestmark = pytest.mark.django_db

PARTS = ("", "/winners", "/proof")
NAMING = ("", "/winners")  # these name the winners, whose display names may change
IMMUTABLE = "public, max-age=31536000, immutable"


def max_age(response) -> int:
    directive, age = response["Cache-Control"].split(", ")
    assert directive == "public"
    return int(age.removeprefix("max-age="))


@pytest.fixture
def closed_draw():
    draw = make_draw(lottery_date(timezone.now()), draw_type=DrawTypeFactory(name="Daily"))
    make_ballots(UserFactory(), 7, draw=draw)
    return draw_close(draw_id=draw.pk, clock=timezone.now, manual=True)


@pytest.fixture
def kept(closed_draw):
    """A client whose process (its handler) has already answered each read once."""
    client = APIClient()
    first = {part: client.get(f"/api/v1/draws/{closed_draw.date}{part}") for part in PARTS}
    assert {r.status_code for r in first.values()} == {200}
    return client, first


def test_repeated_reads_touch_neither_database_nor_cache(kept, closed_draw, django_assert_num_queries):
    client, first = kept
    cache.clear()  # a hit would have to fill the shared cache again if it reached the view

    with django_assert_num_queries(0):
        again = {part: client.get(f"/api/v1/draws/{closed_draw.date}{part}") for part in PARTS}

    for part in PARTS:
        assert again[part].status_code == 200
        assert again[part].content == first[part].content
        assert again[part]["ETag"] == first[part]["ETag"]
        assert again[part]["Content-Type"] == "application/json"
        assert again[part]["X-Content-Type-Options"] == "nosniff"  # the security headers kept
    assert cache.get(f"draw-json:detail:{closed_draw.date}") is None
    assert again["/proof"]["Cache-Control"] == IMMUTABLE
    assert all(0 < max_age(again[part]) <= 60 for part in NAMING)


def test_each_answer_has_its_own_request_id(kept, closed_draw):
    client, _ = kept
    url = f"/api/v1/draws/{closed_draw.date}"

    ids = {client.get(url, HTTP_X_REQUEST_ID=f"req-{n}")["X-Request-ID"] for n in range(3)}

    assert ids == {"req-0", "req-1", "req-2"}


def test_matching_if_none_match_gets_304_with_caching_headers(kept, closed_draw):
    client, first = kept
    url = f"/api/v1/draws/{closed_draw.date}/proof"

    revalidated = client.get(url, HTTP_IF_NONE_MATCH=first["/proof"]["ETag"])
    stale = client.get(url, HTTP_IF_NONE_MATCH='"not-the-etag"')

    assert revalidated.status_code == 304 and revalidated.content == b""
    assert revalidated["ETag"] == first["/proof"]["ETag"]
    assert revalidated["Cache-Control"] == IMMUTABLE
    assert stale.status_code == 200 and stale.content == first["/proof"].content


def test_kept_reads_naming_winners_tell_the_time_they_have_left(closed_draw, django_assert_num_queries):
    url = f"/api/v1/draws/{closed_draw.date}/winners"
    with freeze_time(timezone.now()) as frozen:
        client = APIClient()
        first = client.get(url)
        frozen.tick(dt.timedelta(seconds=20))

        with django_assert_num_queries(0):
            later = client.get(url)
            revalidated = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])

    assert max_age(first) == 60
    assert later.content == first.content and max_age(later) == 40
    assert revalidated.status_code == 304 and max_age(revalidated) == 40


def test_kept_reads_naming_winners_are_built_again_once_their_time_is_up(
    closed_draw, django_assert_max_num_queries
):
    with freeze_time(timezone.now()) as frozen:
        client = APIClient()
        first = {part: client.get(f"/api/v1/draws/{closed_draw.date}{part}") for part in PARTS}
        frozen.tick(dt.timedelta(seconds=60))

        with django_assert_max_num_queries(10) as queries:
            for part in NAMING:
                assert max_age(client.get(f"/api/v1/draws/{closed_draw.date}{part}")) == 60
        with django_assert_max_num_queries(0):
            proof = client.get(f"/api/v1/draws/{closed_draw.date}/proof")

    assert len(queries) > 0  # neither this process nor the shared cache answered them
    assert proof.content == first["/proof"].content and proof["Cache-Control"] == IMMUTABLE


def test_first_read_revalidates_too(closed_draw):
    etag = APIClient().get(f"/api/v1/draws/{closed_draw.date}")["ETag"]
    immutable.forget_all()  # as in a process that has not answered it yet

    fresh_process = APIClient().get(f"/api/v1/draws/{closed_draw.date}", HTTP_IF_NONE_MATCH=etag)

    assert fresh_process.status_code == 304


def test_open_draw_is_never_kept():
    draw = make_draw(lottery_date(timezone.now()), draw_type=DrawTypeFactory(name="Daily"))
    client = APIClient()
    assert client.get(f"/api/v1/draws/{draw.date}").json()["status"] == "open"

    draw_close(draw_id=draw.pk, clock=timezone.now, manual=True)

    assert client.get(f"/api/v1/draws/{draw.date}").json()["status"] == "closed"


def test_disallowed_host_is_refused_even_when_kept(kept, closed_draw):
    client, _ = kept

    response = client.get(f"/api/v1/draws/{closed_draw.date}", HTTP_HOST="evil.example")

    assert response.status_code == 400


@override_settings(SECURE_SSL_REDIRECT=True)
def test_plain_http_is_redirected_even_when_kept(closed_draw):
    client = APIClient()  # its middleware is built under the setting
    url = f"/api/v1/draws/{closed_draw.date}"
    assert client.get(url, secure=True).status_code == 200

    plain = client.get(url)
    secure = client.get(url, secure=True)

    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    assert secure.status_code == 200


def test_requests_with_a_query_string_take_the_full_stack(kept, closed_draw, django_assert_max_num_queries):
    client, first = kept
    cache.clear()

    with django_assert_max_num_queries(10) as queries:
        response = client.get(f"/api/v1/draws/{closed_draw.date}?x=1")

    assert len(queries) > 0 and response.content == first[""].content


def test_only_the_most_recent_paths_are_kept(closed_draw, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(immutable, "MAX_ENTRIES", 2)
    client = APIClient()
    urls = [f"/api/v1/draws/{closed_draw.date}{part}" for part in PARTS]
    for url in urls:
        client.get(url)
    cache.clear()

    with django_assert_num_queries(0):
        client.get(urls[1])
        client.get(urls[2])
    with django_assert_num_queries(2):  # the first was evicted: it takes the full stack
        client.get(urls[0])
