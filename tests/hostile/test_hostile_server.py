"""`lottery verify` against a hostile service: it must end with a named failed check and exit 1,
never a traceback, a hang, an exhausted memory or a pass.

Each test runs the real command (`python -m lottery.verifier`) against a loopback HTTP server
that plays the operator: one that nests, floods or trickles its answers, and one that runs its
own "beacon" and signs whatever round it likes.
"""

import copy
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from lottery import fairness
from tests.beacon.drand_server import CHAIN, GENESIS, PERIOD, PUBLIC_KEY, SCHEME, TRUST_SPEC, signed_round
from tests.loopback_http import serving
from tests.test_verifier import TYPICAL, proof_from_vector, proof_with_beacon

ROOT = Path(__file__).resolve().parents[2]
DATE = TYPICAL["date"]
PROOF_PATH = f"/api/v1/draws/{DATE}/proof"
BALLOTS_PATH = f"/api/v1/draws/{DATE}/ballots.txt"

Send = Callable[[BaseHTTPRequestHandler], None]


def body(data: bytes, content_type: str = "application/json") -> Send:
    def send(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return send


def endless(piece: bytes) -> Send:
    """A chunked body that never ends (until the client hangs up)."""

    def send(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = piece * (65536 // len(piece))
        while True:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))

    return send


def claims_length(length: int) -> Send:
    def send(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(length))
        handler.end_headers()
        handler.wfile.write(b"1\n")

    return send


def trickle(data: bytes, *, headers_too: bool, every: float = 2.0) -> Send:
    """One byte every `every` seconds: each read succeeds well within any per-read timeout."""

    def send(handler: BaseHTTPRequestHandler) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(data)
        if not headers_too:
            handler.wfile.write(head)
            head = b""
        for byte in head + data:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(every)

    return send


class Operator:
    """The hostile service: path -> how to answer."""

    def __init__(self) -> None:
        self.routes: dict[str, Send] = {}

    def publish(self, proof: dict[str, Any], ballots: bytes) -> None:
        self.routes[PROOF_PATH] = body(json.dumps(proof).encode())
        self.routes[BALLOTS_PATH] = body(ballots, "text/plain; charset=utf-8")


@pytest.fixture
def operator() -> Iterator[tuple[Operator, str]]:
    state = Operator()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            send = state.routes.get(self.path)
            try:
                if send is None:
                    self.send_error(404)
                    return
                send(self)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the verifier hung up, as it should
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as base:
        yield state, base


def lottery_verify(*args: str, limit: float = 120) -> tuple[int, list[str], float]:
    """Run the command as a user would; fails the test on a traceback."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "lottery.verifier", DATE, *args],
        capture_output=True,
        text=True,
        timeout=limit,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout.splitlines(), time.monotonic() - started


def failed(lines: list[str]) -> tuple[str, str]:
    """The verdict line and the detail of the check it names."""
    verdict = lines[-1]
    assert verdict.startswith("Check failed: "), lines
    name = verdict.removeprefix("Check failed: ")
    detail = next(line for line in lines if line.startswith(f"FAIL {name}: "))
    return verdict, detail


# --- hostile answers ------------------------------------------------------------------------


def test_a_deeply_nested_proof_is_a_failed_fetch_not_a_crash(operator: tuple[Operator, str]) -> None:
    state, url = operator
    state.routes[PROOF_PATH] = body(b"[" * 30_000 + b"]" * 30_000)
    code, lines, _ = lottery_verify("--url", url)
    verdict, detail = failed(lines)
    assert (code, verdict) == (1, "Check failed: fetch")
    assert "nested too deeply" in detail


def test_a_proof_nested_within_the_parser_limits_is_refused_too(operator: tuple[Operator, str]) -> None:
    state, url = operator
    proof, ballots = proof_from_vector(TYPICAL)
    state.publish(proof, ballots)
    nested: Any = 1
    for _ in range(200):
        nested = [nested]
    state.routes[PROOF_PATH] = body(json.dumps({**proof, "winners": nested}).encode())
    code, lines, _ = lottery_verify("--url", url)
    verdict, detail = failed(lines)
    assert (code, verdict) == (1, "Check failed: fetch")
    assert "nested deeper than 16 levels" in detail


def test_an_endless_proof_is_cut_off_at_its_size_limit(operator: tuple[Operator, str]) -> None:
    state, url = operator
    state.routes[PROOF_PATH] = endless(b" ")
    code, lines, _ = lottery_verify("--url", url)
    verdict, detail = failed(lines)
    assert (code, verdict) == (1, "Check failed: fetch")
    assert "longer than the 65536 bytes allowed" in detail


def test_an_endless_ballots_txt_is_cut_off_at_its_size_limit(operator: tuple[Operator, str]) -> None:
    state, url = operator
    proof, ballots = proof_from_vector(TYPICAL)
    state.publish(proof, ballots)
    state.routes[BALLOTS_PATH] = endless(b"1\n")
    code, lines, _ = lottery_verify("--url", url)
    verdict, detail = failed(lines)
    assert (code, verdict) == (1, "Check failed: fetch")
    # 34 ballots: at most 20 bytes a line, plus slack.
    assert f"longer than the {34 * 20 + 1024} bytes allowed" in detail


def test_a_huge_ballots_txt_is_refused_before_it_is_read(operator: tuple[Operator, str]) -> None:
    state, url = operator
    proof, ballots = proof_from_vector(TYPICAL)
    state.publish(proof, ballots)
    state.routes[BALLOTS_PATH] = claims_length(10**12)
    code, lines, _ = lottery_verify("--url", url)
    verdict, detail = failed(lines)
    assert (code, verdict) == (1, "Check failed: fetch")
    assert "answer of 1000000000000 bytes" in detail


@pytest.mark.parametrize("ballot_count", ["34", -1, 10**12, None])
def test_a_proof_with_an_absurd_ballot_count_downloads_no_ballots(
    operator: tuple[Operator, str], ballot_count: Any
) -> None:
    state, url = operator
    proof, _ = proof_from_vector(TYPICAL)
    state.routes[PROOF_PATH] = body(json.dumps({**proof, "ballot_count": ballot_count}).encode())
    code, lines, _ = lottery_verify("--url", url)
    verdict, detail = failed(lines)
    assert (code, verdict) == (1, "Check failed: fetch")
    assert "ballots.txt not downloaded" in detail


@pytest.mark.parametrize("answer", [b"[1, 2]", b'"closed"', b"null", b"\xff\xfe"])
def test_a_proof_that_is_not_a_json_object_is_a_failed_fetch(
    operator: tuple[Operator, str], answer: bytes
) -> None:
    state, url = operator
    state.routes[PROOF_PATH] = body(answer)
    code, lines, _ = lottery_verify("--url", url)
    assert (code, lines[-1]) == (1, "Check failed: fetch")


@pytest.mark.parametrize(
    "beacon",
    [
        {"source": "x", "chain": CHAIN, "round": 2**70, "signature": "00", "randomness": "00" * 32},
        {"source": ["x"], "chain": {"a": 1}, "round": True, "signature": 7, "randomness": None},
        "beacon",
    ],
)
def test_a_beacon_of_the_wrong_types_fails_the_beacon_check(
    operator: tuple[Operator, str], beacon: Any
) -> None:
    state, url = operator
    proof, ballots = proof_from_vector(TYPICAL)
    state.publish({**proof, "beacon": beacon}, ballots)
    code, lines, _ = lottery_verify("--url", url, "--trust-chain", TRUST_SPEC)
    assert (code, lines[-1]) == (1, "Check failed: beacon")


@pytest.mark.parametrize(
    "source", ["http://127.0.0.1:no-port", "http://[::1", "file:///etc/passwd", "x" * 3000]
)
def test_a_chained_round_whose_source_is_no_relay_is_not_verified(
    operator: tuple[Operator, str], source: str
) -> None:
    state, url = operator
    proof, ballots = proof_with_beacon("default")  # a real round of the chained mainnet chain
    proof["beacon"]["source"] = source
    state.publish({**proof, "date": DATE}, ballots)
    code, lines, _ = lottery_verify("--url", url)
    # The real round's draw is of another day, so date fails first; the beacon check still runs.
    [beacon] = [line for line in lines if line.startswith("FAIL beacon: ")]
    assert code == 1 and "signature not verified" in beacon


@pytest.mark.slow
@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "headers"])
def test_a_trickled_proof_fails_at_the_one_overall_deadline(
    operator: tuple[Operator, str], headers_too: bool
) -> None:
    state, url = operator
    proof, _ = proof_from_vector(TYPICAL)
    state.routes[PROOF_PATH] = trickle(json.dumps(proof).encode(), headers_too=headers_too)
    code, lines, elapsed = lottery_verify("--url", url, "--timeout", "3")
    verdict, detail = failed(lines)
    assert (code, verdict) == (1, "Check failed: deadline")
    assert "did not finish within 3 s" in detail and PROOF_PATH in detail
    assert elapsed < 3 + 20, "ended near the deadline, not after the whole trickle (~2 s a byte)"


# --- an operator running its own beacon -------------------------------------------------


def proof_on_own_beacon(url: str) -> tuple[dict[str, Any], bytes]:
    """A draw whose every other check is consistent, on the operator's own chain and key."""
    proof, ballots = proof_from_vector(copy.deepcopy(TYPICAL))
    # closes_at is the midnight that ends DATE in Europe/Amsterdam; the round the one it plans.
    closes_at = int(dt.datetime.fromisoformat(proof["closes_at"]).timestamp())
    round_number = fairness.beacon_planned_round(genesis_time=GENESIS, period=PERIOD, closes_at=closes_at)
    signed = signed_round(round_number)
    beacon = {"source": url, "chain": CHAIN, **signed}
    winners = fairness.draw_winners(
        seed=bytes.fromhex(proof["seed"]),
        date=DATE,
        ballot_ids=TYPICAL["ballot_ids"],
        beacon=signed["randomness"],
        prizes=proof["prizes"],
    )
    proof.update(beacon=beacon, winners=[asdict(w) for w in winners])
    return proof, ballots


@pytest.fixture
def own_beacon(operator: tuple[Operator, str]) -> tuple[Operator, str]:
    state, url = operator
    proof, ballots = proof_on_own_beacon(url)
    state.publish(proof, ballots)
    # It also answers as a drand relay for its chain, with its own key, consistently.
    info = {
        "public_key": PUBLIC_KEY,
        "period": PERIOD,
        "genesis_time": GENESIS,
        "hash": CHAIN,
        "schemeID": SCHEME,
    }
    state.routes[f"/{CHAIN}/info"] = body(json.dumps(info).encode())
    round_number = proof["beacon"]["round"]
    state.routes[f"/{CHAIN}/public/{round_number}"] = body(json.dumps(signed_round(round_number)).encode())
    return state, url


def test_a_beacon_the_operator_runs_itself_fails_as_chain_not_trusted(
    own_beacon: tuple[Operator, str],
) -> None:
    _, url = own_beacon
    code, lines, _ = lottery_verify("--url", url)
    verdict, detail = failed(lines)
    assert (code, verdict) == (1, "Check failed: beacon")
    assert f"chain {CHAIN} not trusted" in detail
    assert "FAIL beacon_round: not checked: the beacon's chain is not trusted" in lines
    assert "FAIL winners: not checked: beacon failed" in lines


def test_the_same_chain_named_explicitly_as_trusted_passes(own_beacon: tuple[Operator, str]) -> None:
    _, url = own_beacon
    code, lines, _ = lottery_verify("--url", url, "--trust-chain", TRUST_SPEC)
    assert (code, lines[-1]) == (0, "All checks passed"), lines
    assert any(line.startswith("PASS beacon: round ") and "BLS signature verified" in line for line in lines)


def test_the_operators_chain_with_another_key_fails_the_signature(own_beacon: tuple[Operator, str]) -> None:
    _, url = own_beacon
    other_key = hashlib.sha256(b"not the operator's key").hexdigest()
    code, lines, _ = lottery_verify(
        "--url", url, "--trust-chain", f"{CHAIN}:{other_key}:{GENESIS}:{PERIOD}:{SCHEME}"
    )
    verdict, detail = failed(lines)
    assert (code, verdict) == (1, "Check failed: beacon")
    assert "does NOT verify" in detail
