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
from tests.beacon.drand_server import CHAIN, GENESIS, PERIOD, TRUST_SPEC, signed_round
from tests.loopback_http import serving
from tests.test_verifier import TYPICAL, proof_from_vector, proof_with_beacon

DATE = TYPICAL["date"]
PROOF_PATH = f"/api/v1/draws/{DATE}/proof"
BALLOTS_PATH = f"/api/v1/draws/{DATE}/ballots.txt"
QUICKNET = next(c for c in SHIPPED_CHAINS if c.name == "quicknet")
TYPICAL_CLOSES_AT = proof_from_vector(TYPICAL)[0]["closes_at"]


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
    assert (code, out.splitlines()[-1]) == (1, "Check failed: closes_at")
    assert "FAIL beacon_round: not checked: closes_at failed" in out.splitlines()
    # Blocked in the command now; the round check itself still reports such a due time.
    detail = verifier.check_beacon_round(proof).detail
    assert detail.startswith(f"round {planned} is the planned round, due at Unix time "), detail


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


# --- steering the beacon through closes_at; changing the plan after the fact (W1-W3) ---------


def beacon_draw(url: str, date: str, closes_at: str, round_number: int | None = None) -> dict[str, Any]:
    """A draw of ``date`` on the loopback test beacon, every check but closes_at consistent: its
    round is the one ``closes_at`` plans (the operator picks closes_at, so the round)."""
    proof, _ = proof_from_vector(TYPICAL)
    if round_number is None:
        closes = int(dt.datetime.fromisoformat(closes_at).timestamp())
        round_number = fairness.beacon_planned_round(genesis_time=GENESIS, period=PERIOD, closes_at=closes)
    signed = signed_round(round_number)
    proof.update(
        date=date,
        commitment=fairness.commitment(date=date, seed=bytes.fromhex(proof["seed"])),
        closes_at=closes_at,
        beacon={"source": url, "chain": CHAIN, **signed},
    )
    return consistent(proof, TYPICAL["ballot_ids"], signed["randomness"])


def publish_on(routes: dict[str, Answer], proof: dict[str, Any], ballots: bytes) -> None:
    routes[f"/api/v1/draws/{proof['date']}/proof"] = Answer(json.dumps(proof).encode())
    routes[f"/api/v1/draws/{proof['date']}/ballots.txt"] = Answer(ballots)


def verify_on(capsys: pytest.CaptureFixture[str], date: str, *args: str) -> tuple[int, list[str]]:
    code = verifier.main([date, *args, "--trust-chain", TRUST_SPEC])
    return code, capsys.readouterr().out.splitlines()


def test_a_closes_at_years_before_the_draw_fails_closes_at_not_all_checks_passed(
    operator: tuple[dict[str, Answer], str], capsys: pytest.CaptureFixture[str]
) -> None:
    routes, url = operator
    _, ballots = proof_from_vector(TYPICAL)
    # Round 2 of the beacon was public in 2023, long before this draw's commitment: the
    # operator knows the randomness and can add ballots until its own wins.
    proof = beacon_draw(url, DATE, "2023-11-14T22:13:00+00:00")
    assert proof["beacon"]["round"] == 2
    publish_on(routes, proof, ballots)
    code, lines = verify_on(capsys, DATE, "--url", url, "--commitment", proof["commitment"])
    assert (code, lines[-1]) == (1, "Check failed: closes_at"), lines
    assert "FAIL beacon_round: not checked: closes_at failed" in lines
    assert any(line.startswith("FAIL closes_at: proof says 2023-11-14") for line in lines), lines


@pytest.mark.parametrize(
    ("date", "midnight", "an_hour_off"),
    [
        # The last Sundays of March and October 2026: 23- and 25-hour days in Europe/Amsterdam.
        ("2026-03-29", "2026-03-29T22:00:00+00:00", "2026-03-29T23:00:00+00:00"),
        ("2026-10-25", "2026-10-25T23:00:00+00:00", "2026-10-25T22:00:00+00:00"),
    ],
)
def test_a_draw_on_a_dst_day_passes_with_its_own_midnight_only(
    operator: tuple[dict[str, Answer], str],
    capsys: pytest.CaptureFixture[str],
    date: str,
    midnight: str,
    an_hour_off: str,
) -> None:
    routes, url = operator
    _, ballots = proof_from_vector(TYPICAL)
    publish_on(routes, beacon_draw(url, date, midnight), ballots)
    code, lines = verify_on(capsys, date, "--url", url)
    assert (code, lines[-1]) == (0, "All checks passed"), lines
    publish_on(routes, beacon_draw(url, date, an_hour_off), ballots)
    code, lines = verify_on(capsys, date, "--url", url)
    assert (code, lines[-1]) == (1, "Check failed: closes_at"), lines
    # Another zone's midnight is another instant: the user names the zone the lottery states.
    publish_on(routes, beacon_draw(url, date, midnight), ballots)
    code, lines = verify_on(capsys, date, "--url", url, "--timezone", "Europe/London")
    assert (code, lines[-1]) == (1, "Check failed: closes_at"), lines


def open_proof_of(final: dict[str, Any], tmp_path: Any) -> str:
    """The proof as it read while the draw was open, saved by a player."""
    beacon = final["beacon"] and {k: final["beacon"][k] for k in ("source", "chain", "round")}
    saved = {
        **final,
        "status": "open",
        "seed": None,
        "ballot_count": None,
        "ballot_digest": None,
        "closed_at": None,
        "beacon": beacon,
        "winners": [],
    }
    path = tmp_path / "open-proof.json"
    path.write_text(json.dumps(saved))
    return str(path)


def test_a_beacon_dropped_after_the_close_fails_open_proof(
    operator: tuple[dict[str, Answer], str], capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    routes, url = operator
    _, ballots = proof_from_vector(TYPICAL)
    planned = beacon_draw(url, DATE, TYPICAL_CLOSES_AT)
    saved = open_proof_of(planned, tmp_path)
    publish_on(routes, planned, ballots)
    code, lines = verify_on(capsys, DATE, "--url", url, "--open-proof", saved)
    assert (code, lines[-1]) == (0, "All checks passed"), lines
    # The round came out badly for the operator: it publishes the draw as one without a beacon.
    publish_on(routes, consistent({**planned, "beacon": None}, TYPICAL["ballot_ids"]), ballots)
    code, lines = verify_on(capsys, DATE, "--url", url, "--open-proof", saved)
    assert (code, lines[-1]) == (1, "Check failed: open_proof"), lines
    assert any(line.startswith("FAIL open_proof: beacon differs") for line in lines), lines


def test_prizes_changed_after_the_close_fail_open_proof(
    operator: tuple[dict[str, Answer], str], capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    routes, url = operator
    _, ballots = proof_from_vector(TYPICAL)
    planned = beacon_draw(url, DATE, TYPICAL_CLOSES_AT)
    saved = open_proof_of(planned, tmp_path)
    fewer = [{**prize, "count": 1} for prize in planned["prizes"]]
    changed = consistent({**planned, "prizes": fewer}, TYPICAL["ballot_ids"], planned["beacon"]["randomness"])
    publish_on(routes, changed, ballots)
    code, lines = verify_on(capsys, DATE, "--url", url, "--open-proof", saved)
    assert (code, lines[-1]) == (1, "Check failed: open_proof"), lines
    assert any(line.startswith("FAIL open_proof: prizes differs") for line in lines), lines


@pytest.mark.parametrize(
    "content",
    [b"[]", b"not json", b"[" * 100_000 + b"]" * 100_000, b'{"a": "' + b"x" * 70_000 + b'"}'],
    ids=["not an object", "not JSON", "nested", "too large"],
)
def test_an_unusable_open_proof_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Any, content: bytes
) -> None:
    path = tmp_path / "open-proof.json"
    path.write_bytes(content)
    assert verifier.main([DATE, "--url", "http://127.0.0.1:9", "--open-proof", str(path)]) == 2
    assert "cannot read open proof" in capsys.readouterr().err
    assert verifier.main([DATE, "--url", "http://127.0.0.1:9", "--open-proof", str(tmp_path / "none")]) == 2


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../etc/passwd", ""])
def test_an_unknown_time_zone_is_a_usage_error(capsys: pytest.CaptureFixture[str], zone: str) -> None:
    assert verifier.main([DATE, "--url", "http://127.0.0.1:9", "--timezone", zone]) == 2
    assert "time zone" in capsys.readouterr().err
