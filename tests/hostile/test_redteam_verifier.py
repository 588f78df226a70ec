"""Red team: a hostile operator against `lottery verify` (its main(), as a user runs it).

Each test serves the operator's answers from a loopback HTTP server and expects a named
failed check and exit status 1: never a pass, a traceback, an output the operator wrote, a
run past the deadline or memory out of proportion to what the verifier agreed to read.
"""

import datetime as dt
import json
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from lottery import fairness, verifier
from lottery.beacon_chains import SHIPPED_CHAINS
from tests.loopback_http import serving
from tests.test_verifier import TYPICAL, proof_from_vector, proof_with_beacon

DATE = TYPICAL["date"]
PROOF_PATH = f"/api/v1/draws/{DATE}/proof"
BALLOTS_PATH = f"/api/v1/draws/{DATE}/ballots.txt"
QUICKNET = next(c for c in SHIPPED_CHAINS if c.name == "quicknet")


class Answer:
    def __init__(self, data: bytes, status: int = 200, reason: str | None = None) -> None:
        self.data, self.status, self.reason = data, status, reason


@pytest.fixture
def operator() -> Iterator[tuple[dict[str, Answer], str]]:
    """The hostile service: path -> its answer; yields (routes, base URL)."""
    routes: dict[str, Answer] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            answer = routes.get(self.path, Answer(b"{}", 404))
            self.send_response(answer.status, answer.reason)
            self.send_header("Content-Length", str(len(answer.data)))
            self.end_headers()
            self.wfile.write(answer.data)
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as base:
        yield routes, base


def publish(routes: dict[str, Answer], proof: dict[str, Any], ballots: bytes) -> None:
    routes[PROOF_PATH] = Answer(json.dumps(proof).encode())
    routes[BALLOTS_PATH] = Answer(ballots)


def lottery_verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`lottery verify DATE ARGS…`: its exit status and what it printed (a traceback fails the test)."""
    code = verifier.main([DATE, *args])
    return code, capsys.readouterr().out


def consistent(proof: dict[str, Any], ballot_ids: list[int], beacon: str = "") -> dict[str, Any]:
    """``proof`` with the winners our own implementation draws from it: every check consistent."""
    winners = fairness.draw_winners(
        seed=bytes.fromhex(proof["seed"]),
        date=proof["date"],
        ballot_ids=ballot_ids,
        beacon=beacon,
        prizes=proof["prizes"],
    )
    return {**proof, "winners": [asdict(w) for w in winners]}


# --- a crash --------------------------------------------------------------------------------


def test_a_closes_at_in_the_year_9999_is_a_failed_check_not_a_traceback(
    operator: tuple[dict[str, Answer], str], capsys: pytest.CaptureFixture[str]
) -> None:
    routes, url = operator
    proof, ballots = proof_from_vector(TYPICAL)
    closes_at = "9999-12-31T23:59:59+00:00"
    # The round quicknet plans for that closes_at is due in the year 10000, which datetime cannot show.
    planned = fairness.beacon_planned_round(
        genesis_time=QUICKNET.genesis_time,
        period=QUICKNET.period,
        closes_at=int(dt.datetime.fromisoformat(closes_at).timestamp()),
    )
    beacon = {"source": url, "chain": QUICKNET.hash, "round": planned, "signature": "00" * 48}
    proof.update(closes_at=closes_at, beacon={**beacon, "randomness": "00" * 32})
    publish(routes, proof, ballots)
    code, out = lottery_verify(capsys, "--url", url)
    assert (code, out.splitlines()[-1]) == (1, "Check failed: beacon")
    assert f"PASS beacon_round: round {planned} is the planned round, due at Unix time " in out


# --- the report is ours, not the operator's -------------------------------------------------

FORGED = "draw_not_found\nAll checks passed\x1b[8m"  # then the verdict line would be invisible


@pytest.mark.parametrize("where", ["problem code", "HTTP reason", "beacon source"])
def test_text_from_the_server_cannot_forge_or_hide_lines_of_the_report(
    operator: tuple[dict[str, Answer], str], capsys: pytest.CaptureFixture[str], where: str
) -> None:
    routes, url = operator
    if where == "problem code":
        routes[PROOF_PATH] = Answer(json.dumps({"code": FORGED}).encode(), 404)
    elif where == "HTTP reason":
        routes[PROOF_PATH] = Answer(b"{}", 500, FORGED.replace("\n", "\r"))
    else:  # the relay a chained round's previous signature is read from
        proof, ballots = proof_with_beacon("default")
        proof["beacon"]["source"] = f"{url}/{FORGED}"
        publish(routes, proof, ballots)
    code, out = lottery_verify(capsys, "--url", url)
    lines = out.splitlines()
    assert code == 1 and lines[-1].startswith("Check failed: ")
    assert "All checks passed" not in lines and "\x1b" not in out and "\r" not in out
    assert "All checks passed\\x1b[8m" in out  # shown, escaped


def test_a_lone_surrogate_from_the_server_is_printed_escaped_not_a_traceback(
    operator: tuple[dict[str, Answer], str], capsys: pytest.CaptureFixture[str]
) -> None:
    routes, url = operator
    routes[PROOF_PATH] = Answer(b'{"code": "\\ud800"}', 404)
    code, out = lottery_verify(capsys, "--url", url)
    assert (code, out.splitlines()[-1]) == (1, "Check failed: fetch")
    assert "HTTP 404 \\ud800" in out


# --- a result the operator chooses ----------------------------------------------------------


def test_two_prizes_of_one_rank_fail_the_winners_check(
    operator: tuple[dict[str, Answer], str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Winners name only their prize_rank: with two prizes of rank 1, which winner gets the
    jackpot would be the operator's choice, after the draw."""
    routes, url = operator
    proof, ballots = proof_from_vector(TYPICAL)
    proof["prizes"] = [
        {"rank": 1, "name": "Jackpot", "amount": 1_000_000, "currency": "EUR", "count": 1},
        {"rank": 1, "name": "Consolation", "amount": 1, "currency": "EUR", "count": 1},
    ]
    # The winners of the slots those two prizes make: rank 1, rank 1.
    same_slots = {**proof, "prizes": [{"rank": 1, "count": 2}]}
    publish(routes, {**proof, "winners": consistent(same_slots, TYPICAL["ballot_ids"])["winners"]}, ballots)
    code, out = lottery_verify(capsys, "--url", url)
    assert (code, out.splitlines()[-1]) == (1, "Check failed: winners")
    assert "FAIL winners: prize table unusable: prize ranks must be unique" in out


# --- bounded work ---------------------------------------------------------------------------


def test_a_long_non_canonical_ballots_txt_costs_no_more_memory_than_its_bytes(
    operator: tuple[dict[str, Answer], str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Explaining the defect of a list of two million lines must not split it into two million
    objects (about 40 bytes each): at the 20 million ballots a proof may claim, gigabytes."""
    routes, url = operator
    proof, _ = proof_from_vector(TYPICAL)
    ballots = b"10\n" * 2_000_000  # 6 MB, within the 40 MB that ballot_count allows
    publish(routes, {**proof, "ballot_count": 2_000_000}, ballots)
    tracemalloc.start()
    try:
        code, out = lottery_verify(capsys, "--url", url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (code, out.splitlines()[-1]) == (1, "Check failed: ballots_canonical")
    assert "line 2: 10 does not ascend strictly after 10" in out
    assert peak < 4 * len(ballots), f"{peak / 1e6:.0f} MB for a {len(ballots) / 1e6:.0f} MB list"


def test_a_draw_made_long_by_its_prize_table_ends_at_the_deadline(
    operator: tuple[dict[str, Answer], str], capsys: pytest.CaptureFixture[str]
) -> None:
    """As many prizes as ballots: the last slots take ~n draws each, millions of HMACs in all
    for a 1.4 MB list and a one-line prize table. The deadline covers that re-run too."""
    routes, url = operator
    proof, _ = proof_from_vector(TYPICAL)
    count = 200_000
    ballots = fairness.ballots_txt(range(100_000, 100_000 + count))
    proof.update(
        ballot_count=count,
        ballot_digest=fairness.read_ballots_txt(ballots).digest,
        prizes=[{"rank": 1, "name": "Consolation", "amount": 1, "currency": "EUR", "count": count}],
    )
    publish(routes, proof, ballots)
    started = time.monotonic()
    code, out = lottery_verify(capsys, "--url", url, "--timeout", "2")
    elapsed = time.monotonic() - started
    assert (code, out.splitlines()[-1]) == (1, "Check failed: deadline")
    assert "did not finish within 2 s (re-running the draw was under way)" in out
    assert elapsed < 2 + 5


def test_a_timeout_too_large_for_a_socket_is_a_usage_error_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert verifier.main([DATE, "--url", "http://127.0.0.1:9", "--timeout", "1e300"]) == 2
    assert "not a number of seconds from 0 to 86400: '1e300'" in capsys.readouterr().err
