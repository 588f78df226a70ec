"""`lottery verify` reads ballots.txt as it streams in (chunked, like the service sends it)."""

import copy
import json
import socket
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from lottery import fairness, verifier
from tests.loopback_http import serving
from tests.test_verifier import CHECK_NAMES, TYPICAL, proof_from_vector, reorder_ballots

Body = Callable[[BaseHTTPRequestHandler], None]


def chunked(data: bytes, size: int) -> Body:
    """Send ``data`` with Transfer-Encoding: chunked, ``size`` bytes a chunk (cutting lines)."""

    def send(handler: BaseHTTPRequestHandler) -> None:
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for start in range(0, len(data), size):
            piece = data[start : start + size]
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            handler.wfile.flush()
        handler.wfile.write(b"0\r\n\r\n")

    return send


def cut_off(data: bytes) -> Body:
    """Promise ``data`` but close the connection half-way through."""

    def send(handler: BaseHTTPRequestHandler) -> None:
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data[: len(data) // 2])
        handler.wfile.flush()
        handler.connection.shutdown(socket.SHUT_RDWR)

    return send


@pytest.fixture
def service() -> Iterator[tuple[dict[str, Body], str]]:
    routes: dict[str, Body] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Connection", "close")
            routes[self.path](self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as base:
        yield routes, base


def publish(routes: dict[str, Body], proof: dict[str, Any], ballots: Body) -> None:
    base = f"/api/v1/draws/{proof['date']}"
    routes[f"{base}/proof"] = chunked(json.dumps(proof).encode(), 1 << 16)
    routes[f"{base}/ballots.txt"] = ballots


@pytest.fixture(params=[3, 16, 1 << 19], ids=lambda size: f"batch{size}")
def small_batches(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fairness, "_CHECK_BATCH", request.param)


@pytest.mark.parametrize("chunk", [1, 5, 64, 1 << 20])
def test_chunked_ballots_txt_passes_every_check(
    service: tuple[dict[str, Body], str], small_batches: None, chunk: int
) -> None:
    routes, url = service
    proof, ballots = proof_from_vector(TYPICAL)
    publish(routes, proof, chunked(ballots, chunk))
    checks = verifier.fetch_and_verify(date=TYPICAL["date"], base_url=url, ballot_ids=[1000, 1001])
    assert [c.name for c in checks] == [*CHECK_NAMES, "ballot_1000", "ballot_1001"]
    assert [c.name for c in checks if not c.ok] == ["ballot_1001"], checks
    assert verifier._check_winners(proof, fairness.read_ballots_txt(ballots)).ok


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_chunked_ballots_txt_reordered_fails_canonical(
    service: tuple[dict[str, Body], str], small_batches: None, chunk: int
) -> None:
    routes, url = service
    proof, ballots = proof_from_vector(copy.deepcopy(TYPICAL))
    publish(routes, proof, chunked(reorder_ballots(proof, ballots), chunk))
    checks = verifier.fetch_and_verify(date=TYPICAL["date"], base_url=url)
    failed = [c for c in checks if not c.ok]
    assert failed[0].name == "ballots_canonical"
    assert "line 2:" in failed[0].detail and "does not ascend strictly" in failed[0].detail


def test_connection_lost_mid_body_is_a_failed_fetch(service: tuple[dict[str, Body], str]) -> None:
    routes, url = service
    proof, ballots = proof_from_vector(TYPICAL)
    publish(routes, proof, cut_off(ballots))
    checks = verifier.fetch_and_verify(date=TYPICAL["date"], base_url=url, timeout=5)
    assert [(c.name, c.ok) for c in checks] == [("fetch", False)]
    assert "ballots.txt: connection closed" in checks[0].detail
