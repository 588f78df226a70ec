"""Hostile input from outside: bodies too large to read, JSON nested too deep, ids too big.

Every request goes through the whole stack over WSGI (Django's test client or a live HTTP
server). Oversized bodies are refused by their Content-Length before a byte is read: the
tests hand the server a stream that counts what is read from it, or hold the body back on a
real socket and still get the answer.
"""

import io
import json
import socket
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter
from rest_framework.test import APIClient

from lottery.core.converters import DatabaseIdConverter
from tests.conftest import assert_problem
from tests.factories import UserFactory
from tests.hostile.conftest import World

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024
CLAIMED = 150 * 1000 * 1000  # what the attacker's Content-Length says
DEEP = 100_000


class CountingStream(io.RawIOBase):
    """A request body that says how much of it the server read."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self.data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        self.read_bytes += len(chunk)
        return len(chunk)


def post_raw(
    path: str,
    stream: CountingStream,
    *,
    content_length: int | None,
    content_type: str = "application/json",
    **extra: Any,
) -> Any:
    environ = {"wsgi.input": stream, "CONTENT_TYPE": content_type, **extra}
    if content_length is not None:
        environ["CONTENT_LENGTH"] = str(content_length)
    return Client().generic("POST", path, **environ)


def signin_body(size: int) -> bytes:
    head = b'{"email": "someone@example.com", "password": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


# --- body size ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "declared"),
    [
        pytest.param(signin_body(2 * MIB), 2 * MIB, id="2-MiB-body"),
        pytest.param(signin_body(4096), CLAIMED, id="150-MB-claimed-small-stream"),
    ],
)
def test_an_oversized_json_body_is_413_before_any_of_it_is_read(body: bytes, declared: int) -> None:
    stream = CountingStream(body)
    response = post_raw("/api/v1/auth/signin", stream, content_length=declared)
    body_json = assert_problem(response, 413, "payload_too_large")
    assert str(MIB) in body_json["detail"]
    assert stream.read_bytes == 0


def test_a_body_without_a_length_is_411_unread() -> None:
    """Chunked: Django would read none of it and answer as if nothing had been sent."""
    stream = CountingStream(signin_body(2 * MIB))
    response = post_raw("/api/v1/auth/signin", stream, content_length=None, HTTP_TRANSFER_ENCODING="chunked")
    assert_problem(response, 411, "length_required")
    assert stream.read_bytes == 0


def test_a_body_of_exactly_the_limit_is_read_and_answered() -> None:
    stream = CountingStream(signin_body(MIB))
    response = post_raw("/api/v1/auth/signin", stream, content_length=MIB)
    assert_problem(response, 400, "validation_error")  # read and validated: the password is too long
    assert stream.read_bytes == MIB


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz"],
)
def test_an_oversized_form_is_a_413_page_unread(content_type: str) -> None:
    """Django's own limit covers form fields, not multipart files (spooled to /tmp whatever
    their size): the Content-Length check covers both."""
    stream = CountingStream(b"email=a%40b.c&password=" + b"x" * 4096)
    response = post_raw("/signin", stream, content_length=CLAIMED, content_type=content_type)
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    assert b"at most 1048576 bytes" in response.content
    assert stream.read_bytes == 0


def test_a_form_with_too_many_fields_is_a_clean_400_page() -> None:
    fields = "&".join(f"f{i}=1" for i in range(2000))  # DATA_UPLOAD_MAX_NUMBER_FIELDS is 1000
    response = Client().post("/signin", fields, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert b"Go home" in response.content  # our page, not Django's bare one


def test_a_refused_host_under_the_api_is_problem_json() -> None:
    assert_problem(APIClient().get("/api/v1/stats", HTTP_HOST="evil.example"), 400, "bad_request")


@pytest.mark.parametrize("transfer", ["claimed", "chunked"])
def test_the_server_answers_without_waiting_for_the_body(live_server: Any, transfer: str) -> None:
    """Over a real socket: the client sends the headers and 1 KiB of a 150 MB body and waits;
    the answer comes anyway, so the server did not wait to read the rest."""
    host, port = live_server.thread.host, live_server.thread.port
    length = f"Content-Length: {CLAIMED}" if transfer == "claimed" else "Transfer-Encoding: chunked"
    head = (
        f"POST /api/v1/auth/signin HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"{length}\r\n\r\n"
    ).encode()
    part = b"[" * 1024
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(head + (part if transfer == "claimed" else b"400\r\n" + part + b"\r\n"))
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    expected = (413, "payload_too_large") if transfer == "claimed" else (411, "length_required")
    assert status_line.split()[1] == str(expected[0]).encode(), answer
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["code"] == expected[1]


# --- nesting depth ----------------------------------------------------------------------------


def nested(kind: str, depth: int) -> str:
    if kind == "arrays":
        return "[" * depth + "]" * depth
    if kind == "unclosed":  # the decoder descends all the way before it sees the mistake
        return "[" * depth + "}"
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize("kind", ["arrays", "objects", "unclosed"])
@pytest.mark.parametrize(
    "path", ["/api/v1/auth/signin", "/api/v1/auth/signup", "/api/v1/ballots/purchase", "ballot-assign"]
)
def test_json_nested_100k_deep_is_a_parse_error(world: World, path: str, kind: str) -> None:
    if path == "ballot-assign":
        path = f"/api/v1/ballots/{world.player_ballots['unassigned'][0].pk}/assign"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.token(world.player)}")
    response = client.post(path, nested(kind, DEEP), content_type="application/json")
    assert_problem(response, 400, "parse_error")


def test_depth_64_is_parsed_and_65_is_refused() -> None:
    def signin(email: str) -> Any:
        body = '{"email": ' + email + ', "password": "x"}'
        return APIClient().post("/api/v1/auth/signin", body, content_type="application/json")

    assert_problem(signin(nested("arrays", 63)), 400, "validation_error")  # 64 with the body itself
    assert_problem(signin(nested("arrays", 64)), 400, "parse_error")


def test_brackets_inside_strings_are_not_nesting() -> None:
    password = json.dumps('\\"[' * DEEP)  # escaped quotes and backslashes do not end the string
    body = '{"email": "someone@example.com", "password": ' + password + "}"
    response = APIClient().post("/api/v1/auth/signin", body, content_type="application/json")
    assert response.json()["code"] != "parse_error"


# --- ids beyond the database's range ------------------------------------------------------

HUGE = [2**63, 2**64, 10**30, 10**400]
NOT_IDS = ["0", "-1", "00", "1e3", "9" * 20]


def id_routes(world: World) -> dict[str, tuple[str, str, Any]]:
    """Every URL pattern with a row id, as (method, path with {id}, client allowed to use it)."""
    player = APIClient()
    player.credentials(HTTP_AUTHORIZATION=f"Bearer {world.token(world.player)}")
    staff = APIClient()
    staff.credentials(HTTP_AUTHORIZATION=f"Bearer {world.token(UserFactory(staff=True))}")
    page = Client()
    page.force_login(world.player)
    draw = {"draw": world.today.isoformat()}
    return {
        "api/v1/ballots/<dbid:ballot_id>": ("GET", "/api/v1/ballots/{id}", player, None),
        "api/v1/ballots/<dbid:ballot_id>/assign": ("POST", "/api/v1/ballots/{id}/assign", player, draw),
        "api/v1/users/<dbid:user_id>/ban": ("POST", "/api/v1/users/{id}/ban", staff, {"reason": "x"}),
        "api/v1/users/<dbid:user_id>/unban": ("POST", "/api/v1/users/{id}/unban", staff, None),
        "ballots/<dbid:ballot_id>/assign": ("POST", "/ballots/{id}/assign", page, draw),
    }


def routes_with(converter_type: type) -> set[str]:
    def walk(resolver: URLResolver, prefix: str) -> Any:
        for entry in resolver.url_patterns:
            route = prefix + str(entry.pattern)
            if any(isinstance(c, converter_type) for c in getattr(entry.pattern, "converters", {}).values()):
                yield route
            if isinstance(entry, URLResolver):
                yield from walk(entry, route)
            else:
                assert isinstance(entry, URLPattern)

    return set(walk(get_resolver(), ""))


def test_every_integer_path_parameter_is_a_database_id(world: World) -> None:
    assert routes_with(IntConverter) == set()
    assert routes_with(DatabaseIdConverter) == set(id_routes(world))


def request(method: str, client: Any, path: str, data: Any) -> Any:
    if method == "GET":
        return client.get(path)
    if isinstance(client, APIClient):
        return client.post(path, data, format="json")
    return client.post(path, data or {})


@pytest.mark.parametrize("value", [*HUGE, *NOT_IDS])
def test_an_id_outside_the_database_range_is_404_on_every_id_route(world: World, value: Any) -> None:
    for pattern, (method, path, client, data) in id_routes(world).items():
        response = request(method, client, path.format(id=value), data)
        if pattern.startswith("api/"):
            assert_problem(response, 404, "not_found")
        else:
            assert response.status_code == 404, (pattern, response.content[:300])
            assert response["Content-Type"].startswith("text/html")


def test_the_largest_database_id_still_reaches_the_views(world: World) -> None:
    """2**63-1 is a valid id that names nothing: the views (and their SQL) answer it."""
    for pattern, (method, path, client, data) in id_routes(world).items():
        response = request(method, client, path.format(id=2**63 - 1), data)
        if pattern.startswith("api/"):
            body = assert_problem(response, 404, response.json()["code"])
            assert body["detail"] != "No such API endpoint.", pattern
        else:  # the page's answer to a ballot that is not yours: back to the list, with why
            assert response.status_code == 302, pattern
