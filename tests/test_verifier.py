import copy
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery import fairness, verifier
from lottery.beacon_chains import SHIPPED_CHAINS
from lottery.verifier import Check, check_beacon, check_beacon_round, verify_proof
from tests.loopback_http import serving

VECTORS = json.loads((Path(__file__).parent / "data" / "fairness-vectors.json").read_text())
# Real rounds of the League of Entropy chains, from drand's docs and repositories (provenance inside).
DRAND_ROUNDS = json.loads((Path(__file__).parent / "data" / "drand-rounds.json").read_text())["rounds"]
TYPICAL = next(c for c in VECTORS["cases"] if c["name"] == "typical")
CHECK_NAMES = [
    "algorithm",
    "date",
    "status",
    "closes_at",
    "seed",
    "commitment",
    "ballots_canonical",
    "ballot_count",
    "ballot_digest",
    "beacon",
    "beacon_round",
    "winners",
]

Proof = dict[str, Any]


AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def midnight_ending(date: str, zone: dt.tzinfo = AMSTERDAM) -> str:
    """closes_at of draw `date`: the midnight that ends it in the lottery's zone, in UTC."""
    midnight = dt.datetime.combine(dt.date.fromisoformat(date) + dt.timedelta(days=1), dt.time(0), zone)
    return midnight.astimezone(dt.UTC).isoformat()


def zone_for(proof: Proof) -> dt.tzinfo:
    """A fixed-offset zone in which the proof's closes_at is the midnight that ends its date:
    a real beacon round was never planned by a real lottery's midnight, so tests of real rounds
    verify in the zone that makes it one."""
    closes_at = dt.datetime.fromisoformat(proof["closes_at"])
    local_midnight = dt.datetime.combine(
        dt.date.fromisoformat(proof["date"]) + dt.timedelta(days=1), dt.time(0)
    )
    return dt.timezone(local_midnight - closes_at.replace(tzinfo=None))


def proof_from_vector(case: dict[str, Any]) -> tuple[Proof, bytes]:
    """A closed draw's proof built from the independent golden vector, not from our code."""
    ballots = "".join(f"{i}\n" for i in case["ballot_ids"]).encode()
    proof = {
        "algorithm": "lottery-draw-v1",
        "date": case["date"],
        "status": "closed",
        "commitment": case["commitment"],
        "seed": case["seed"],
        "prizes": case["prizes"],
        "ballot_count": len(case["ballot_ids"]),
        "ballot_digest": case["ballot_digest"],
        "closes_at": midnight_ending(case["date"]),
        "closed_at": midnight_ending(case["date"]).replace(":00+", ":01+"),
        "beacon": None,
        "winners": case["winners"],
    }
    return proof, ballots


def real_round(chain: str, number: int | None = None) -> dict[str, Any]:
    return next(r for r in DRAND_ROUNDS if r["chain"] == chain and number in (None, r["round"]))


def proof_with_beacon(chain_name: str = "quicknet") -> tuple[Proof, bytes]:
    """A draw whose planned round is a real published round of a shipped chain: the draw of the
    day that round's closes_at ends in the zone of zone_for(proof), not Europe/Amsterdam."""
    chain = next(c for c in SHIPPED_CHAINS if c.name == chain_name)
    published = real_round(chain_name)
    due = chain.genesis_time + (published["round"] - 1) * chain.period
    beacon: dict[str, Any] = {
        "source": "https://api.drand.sh",
        "chain": chain.hash,
        "round": published["round"],
        "randomness": published["randomness"],
        "signature": published["signature"],
    }
    proof, ballots = proof_from_vector(TYPICAL)
    closes_at = dt.datetime.fromtimestamp(due - 30, tz=dt.UTC)
    # The day whose midnight closes_at is, in the zone zone_for() gives (an offset from -12 h to +12 h).
    date = ((closes_at + dt.timedelta(hours=12)).date() - dt.timedelta(days=1)).isoformat()
    commitment = fairness.commitment(date=date, seed=bytes.fromhex(proof["seed"]))
    winners = fairness.draw_winners(
        seed=bytes.fromhex(proof["seed"]),
        date=date,
        ballot_ids=TYPICAL["ballot_ids"],
        beacon=beacon["randomness"],
        prizes=proof["prizes"],
    )
    proof.update(
        date=date,
        commitment=commitment,
        beacon=beacon,
        winners=[asdict(w) for w in winners],
        closes_at=closes_at.isoformat(),
    )
    return proof, ballots


def first_failure(checks: list[Check]) -> str | None:
    return next((c.name for c in checks if not c.ok), None)


def result(checks: list[Check], name: str) -> Check:
    return next(c for c in checks if c.name == name)


# --- verify_proof --------------------------------------------------------------


def test_genuine_proof_passes_every_check_in_order() -> None:
    proof, ballots = proof_from_vector(TYPICAL)
    checks = verify_proof(
        proof, ballots, expected_commitment=TYPICAL["commitment"], expected_date=TYPICAL["date"]
    )
    assert [c.name for c in checks] == CHECK_NAMES
    assert all(c.ok for c in checks), checks
    assert result(checks, "beacon").detail == "no beacon"


@pytest.mark.parametrize("case", VECTORS["cases"], ids=[c["name"] for c in VECTORS["cases"]])
def test_every_golden_vector_verifies(case: dict[str, Any]) -> None:
    case = dict(case)
    if isinstance(case["ballot_ids"], dict):
        first, last = case["ballot_ids"]["range"]
        case["ballot_ids"] = list(range(first, last + 1))
    proof, ballots = proof_from_vector(case)
    if case["beacon"]:
        # The vector gives only the randomness; its signature is not part of the vector.
        proof["beacon"] = {"randomness": case["beacon"]}
        checks = verify_proof(proof, ballots)
        assert first_failure(checks) == "beacon"
        assert result(checks, "winners").detail == "not checked: beacon failed"
    else:
        assert all(c.ok for c in verify_proof(proof, ballots))


def test_genuine_proof_with_beacon_passes_every_check() -> None:
    proof, ballots = proof_with_beacon()
    checks = verify_proof(proof, ballots, zone=zone_for(proof))
    assert all(c.ok for c in checks), checks
    assert "round 42 of chain quicknet" in result(checks, "beacon").detail
    assert "BLS signature verified" in result(checks, "beacon").detail
    assert result(checks, "beacon_round").detail.startswith("round 42 is the planned round")


def set_key(key: str, value: Any) -> Callable[[Proof, bytes], bytes]:
    def tamper(proof: Proof, ballots: bytes) -> bytes:
        proof[key] = value
        return ballots

    return tamper


def swap_winning_ballots(proof: Proof, ballots: bytes) -> bytes:
    first, second = proof["winners"][0], proof["winners"][1]
    first["ballot_id"], second["ballot_id"] = second["ballot_id"], first["ballot_id"]
    first["index"], second["index"] = second["index"], first["index"]
    return ballots


def change_counter(proof: Proof, ballots: bytes) -> bytes:
    proof["winners"][2]["counter"] += 1
    return ballots


def counter_as_boolean(proof: Proof, ballots: bytes) -> bytes:
    assert proof["winners"][1]["counter"] == 1
    proof["winners"][1]["counter"] = True
    return ballots


def drop_last_winner(proof: Proof, ballots: bytes) -> bytes:
    proof["winners"].pop()
    return ballots


def add_extra_winner(proof: Proof, ballots: bytes) -> bytes:
    proof["winners"].append({**proof["winners"][-1], "slot": 6})
    return ballots


def remove_ballot(proof: Proof, ballots: bytes) -> bytes:
    return ballots.replace(b"1003\n", b"", 1)


def remove_ballot_and_republish_digest(proof: Proof, ballots: bytes) -> bytes:
    # A consistent-looking forgery: the digest changes the HMAC input, so the winners do too.
    ballots = remove_ballot(proof, ballots)
    proof["ballot_count"] -= 1
    proof["ballot_digest"] = hashlib.sha256(ballots).hexdigest()
    return ballots


def add_ballot(proof: Proof, ballots: bytes) -> bytes:
    return ballots + b"999999\n"


def reorder_ballots(proof: Proof, ballots: bytes) -> bytes:
    lines = ballots.splitlines(keepends=True)
    lines[0], lines[1] = lines[1], lines[0]
    return b"".join(lines)


def reorder_ballots_and_republish_digest(proof: Proof, ballots: bytes) -> bytes:
    ballots = reorder_ballots(proof, ballots)
    proof["ballot_digest"] = hashlib.sha256(ballots).hexdigest()
    return ballots


def change_prize_count(proof: Proof, ballots: bytes) -> bytes:
    proof["prizes"][1]["count"] = 4
    return ballots


def seed_of(other: str) -> str:
    return hashlib.sha256(other.encode()).hexdigest()


TAMPERINGS: dict[str, tuple[Callable[[Proof, bytes], bytes], str]] = {
    "changed seed": (set_key("seed", seed_of("another seed")), "commitment"),
    "seed not revealed": (set_key("seed", None), "seed"),
    "seed too short": (set_key("seed", "ab" * 31), "seed"),
    "seed in upper case": (set_key("seed", TYPICAL["seed"].upper()), "seed"),
    "changed commitment": (set_key("commitment", seed_of("x")), "commitment"),
    "swapped winners": (swap_winning_ballots, "winners"),
    "changed counter": (change_counter, "winners"),
    "counter true instead of 1": (counter_as_boolean, "winners"),
    "winner dropped": (drop_last_winner, "winners"),
    "winner added": (add_extra_winner, "winners"),
    "no winners": (set_key("winners", []), "winners"),
    "prize table changed": (change_prize_count, "winners"),
    "prize table missing": (set_key("prizes", None), "winners"),
    "prize table absurdly large": (set_key("prizes", [{"rank": 1, "count": 10**15}]), "winners"),
    "ballot removed": (remove_ballot, "ballot_count"),
    "ballot removed, digest republished": (remove_ballot_and_republish_digest, "winners"),
    "ballot added": (add_ballot, "ballot_count"),
    "ballots reordered": (reorder_ballots, "ballots_canonical"),
    "ballots reordered, digest republished": (
        reorder_ballots_and_republish_digest,
        "ballots_canonical",
    ),
    "ballot_count changed": (set_key("ballot_count", 35), "ballot_count"),
    "ballot_count as string": (set_key("ballot_count", "34"), "ballot_count"),
    "digest changed": (set_key("ballot_digest", seed_of("y")), "ballot_digest"),
    "wrong algorithm": (set_key("algorithm", "lottery-draw-v2"), "algorithm"),
    "status drawing": (set_key("status", "drawing"), "status"),
    "status open": (set_key("status", "open"), "status"),
    "malformed date": (set_key("date", "2026-13-01"), "date"),
    "beacon added to a draw without one": (
        set_key(
            "beacon",
            {
                "source": "s",
                "chain": "ab",
                "round": 1,
                "signature": "00",
                "randomness": hashlib.sha256(b"\0").hexdigest(),
            },
        ),
        "beacon",
    ),
}


@pytest.mark.parametrize(("tamper", "failing"), TAMPERINGS.values(), ids=TAMPERINGS.keys())
def test_tampered_proof_fails_the_right_check(
    tamper: Callable[[Proof, bytes], bytes],
    failing: str,
) -> None:
    proof, ballots = proof_from_vector(copy.deepcopy(TYPICAL))
    ballots = tamper(proof, ballots)
    checks = verify_proof(proof, ballots)
    assert [c.name for c in checks] == CHECK_NAMES
    assert first_failure(checks) == failing, checks


def test_commitment_differing_from_the_one_recorded_while_open_fails() -> None:
    proof, ballots = proof_from_vector(TYPICAL)
    checks = verify_proof(proof, ballots, expected_commitment=seed_of("recorded"))
    assert first_failure(checks) == "commitment"
    assert "recorded while open" in result(checks, "commitment").detail


def test_recorded_commitment_may_be_pasted_in_upper_case() -> None:
    proof, ballots = proof_from_vector(TYPICAL)
    checks = verify_proof(proof, ballots, expected_commitment=TYPICAL["commitment"].upper())
    assert all(c.ok for c in checks)


def test_proof_for_another_date_fails_date_check() -> None:
    proof, ballots = proof_from_vector(TYPICAL)
    checks = verify_proof(proof, ballots, expected_date="2026-11-24")
    assert first_failure(checks) == "date"
    assert result(checks, "commitment").detail == "not checked: date failed"


def test_checks_that_cannot_run_say_which_earlier_check_failed() -> None:
    proof, _ = proof_from_vector(TYPICAL)
    proof["seed"] = None
    checks = verify_proof(proof, b"2\n1\n")
    assert result(checks, "seed").detail == "seed not revealed"
    assert result(checks, "commitment").detail == "not checked: seed failed"
    blocked_by = "seed, ballots_canonical, ballot_digest"
    assert result(checks, "winners").detail == f"not checked: {blocked_by} failed"


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"randomness": "00" * 32}, "randomness is not SHA-256 of signature"),
        ({"randomness": None}, "randomness missing"),
        ({"signature": "zz"}, "signature missing or not lowercase hex"),
        ({"round": 0}, "round must be a positive 64-bit integer"),
        ({"round": 2**64}, "round must be a positive 64-bit integer"),
        ({"round": "42"}, "round must be a positive 64-bit integer"),
        ({"source": ""}, "source missing"),
        ({"chain": None}, "chain hash missing"),
        ({"chain": "ab" * 32}, f"chain {'ab' * 32} not trusted"),
    ],
)
def test_bad_beacon_fails_beacon_check(change: dict[str, Any], detail: str) -> None:
    proof, ballots = proof_with_beacon()
    proof["beacon"].update(change)
    checks = verify_proof(proof, ballots, zone=zone_for(proof))
    assert first_failure(checks) == "beacon"
    assert detail in result(checks, "beacon").detail
    assert result(checks, "winners").detail == "not checked: beacon failed"


def test_beacon_removed_from_a_beacon_draw_fails_winners() -> None:
    proof, ballots = proof_with_beacon()
    proof["beacon"] = None
    assert first_failure(verify_proof(proof, ballots, zone=zone_for(proof))) == "winners"


def test_beacon_round_must_be_the_planned_round() -> None:
    proof, ballots = proof_with_beacon()
    assert proof["closes_at"] == "2023-08-23T15:11:00+00:00"  # round 42 is due 30 s later
    proof["closes_at"] = "2023-08-23T15:11:01+00:00"  # so round 43 is the first due 30 s later
    checks = verify_proof(proof, ballots, zone=zone_for(proof))
    assert first_failure(checks) == "beacon_round"
    assert result(checks, "beacon_round").detail == (
        "round 42 used, round 43 is the first due 30 s after closes_at"
    )
    proof["closes_at"] = "2023-08-23T15:11:00"  # no offset: the planned round is ambiguous
    assert first_failure(verify_proof(proof, ballots)) == "closes_at"
    assert not check_beacon_round(proof).ok


def test_beacon_that_is_not_an_object_fails() -> None:
    assert not check_beacon("abc").ok
    assert check_beacon(None) == Check("beacon", True, "no beacon")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    key=st.sampled_from(sorted(proof_from_vector(TYPICAL)[0])),
    value=JSON,
    ballots=st.binary(max_size=40),
)
def test_verify_proof_never_raises_on_malformed_input(key: str, value: Any, ballots: bytes) -> None:
    proof, genuine_ballots = proof_from_vector(copy.deepcopy(TYPICAL))
    proof[key] = value
    checks = verify_proof(proof, ballots)
    assert [c.name for c in checks] == CHECK_NAMES
    assert not all(c.ok for c in verify_proof(proof, ballots))
    assert [c.name for c in verify_proof(value, genuine_ballots)] == CHECK_NAMES


# --- the command, against a real HTTP server -------------------------------------


class Site:
    """Routes of a fake service: path -> (status, content type, body)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, bytes]] = {}

    def publish(self, date: str, proof: Proof, ballots: bytes) -> None:
        base = f"/api/v1/draws/{date}"
        self.routes[f"{base}/proof"] = (200, "application/json", json.dumps(proof).encode())
        self.routes[f"{base}/ballots.txt"] = (200, "text/plain; charset=utf-8", ballots)


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    routes = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            problem = (404, "application/problem+json", b'{"code": "draw_not_found"}')
            status, content_type, body = routes.routes.get(self.path, problem)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as base:
        yield routes, base


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = verifier.main(args)
    return code, capsys.readouterr().out.splitlines()


def test_main_passes_a_genuine_draw(
    site: tuple[Site, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    routes, url = site
    routes.publish(TYPICAL["date"], *proof_from_vector(TYPICAL))
    code, lines = run_main([TYPICAL["date"], "--url", url], capsys)
    assert code == 0
    assert lines[-1] == "All checks passed"
    assert [line.split(":")[0] for line in lines[:-1]] == [f"PASS {n}" for n in CHECK_NAMES]


def test_main_accepts_the_verify_subcommand_and_trailing_slash(
    site: tuple[Site, str], capsys: pytest.CaptureFixture[str]
) -> None:
    routes, url = site
    routes.publish(TYPICAL["date"], *proof_from_vector(TYPICAL))
    code, lines = run_main(["verify", TYPICAL["date"], "--url", url + "/"], capsys)
    assert (code, lines[-1]) == (0, "All checks passed")


def test_main_fails_a_tampered_draw_naming_the_check(
    site: tuple[Site, str], capsys: pytest.CaptureFixture[str]
) -> None:
    routes, url = site
    proof, ballots = proof_from_vector(copy.deepcopy(TYPICAL))
    routes.publish(TYPICAL["date"], proof, remove_ballot_and_republish_digest(proof, ballots))
    code, lines = run_main([TYPICAL["date"], "--url", url], capsys)
    assert code == 1
    assert lines[-1] == "Check failed: winners"
    assert any(line.startswith("FAIL winners: winner 0: expected") for line in lines)


def test_main_checks_the_users_own_ballots(
    site: tuple[Site, str], capsys: pytest.CaptureFixture[str]
) -> None:
    routes, url = site
    routes.publish(TYPICAL["date"], *proof_from_vector(TYPICAL))
    args = [TYPICAL["date"], "--url", url, "--ballot", "1000", "--ballot", "1099"]
    code, lines = run_main(args, capsys)
    assert (code, lines[-1]) == (0, "All checks passed")
    assert "PASS ballot_1099: in ballots.txt" in lines

    code, lines = run_main([*args, "--ballot", "1001"], capsys)
    assert (code, lines[-1]) == (1, "Check failed: ballot_1001")
    assert "FAIL ballot_1001: NOT in ballots.txt" in lines


def test_main_checks_the_commitment_recorded_while_open(
    site: tuple[Site, str], capsys: pytest.CaptureFixture[str]
) -> None:
    routes, url = site
    routes.publish(TYPICAL["date"], *proof_from_vector(TYPICAL))
    code, lines = run_main([TYPICAL["date"], "--url", url, "--commitment", "ab" * 32], capsys)
    assert (code, lines[-1]) == (1, "Check failed: commitment")


def test_main_json_output(site: tuple[Site, str], capsys: pytest.CaptureFixture[str]) -> None:
    routes, url = site
    routes.publish(TYPICAL["date"], *proof_from_vector(TYPICAL))
    code = verifier.main([TYPICAL["date"], "--url", url, "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["ok"] is True
    assert report["verdict"] == "All checks passed"
    assert [c["name"] for c in report["checks"]] == CHECK_NAMES


def test_main_reports_http_errors_as_failed_fetch(
    site: tuple[Site, str], capsys: pytest.CaptureFixture[str]
) -> None:
    routes, url = site
    proof, _ = proof_from_vector(TYPICAL)
    base = f"/api/v1/draws/{TYPICAL['date']}"
    routes.routes[f"{base}/proof"] = (200, "application/json", json.dumps(proof).encode())
    routes.routes[f"{base}/ballots.txt"] = (
        409,
        "application/problem+json",
        b'{"code": "draw_open", "status": 409}',
    )
    code, lines = run_main([TYPICAL["date"], "--url", url], capsys)
    assert code == 1
    assert lines[-1] == "Check failed: fetch"
    assert lines[0].startswith("FAIL fetch: GET ") and lines[0].endswith("HTTP 409 draw_open")

    code, lines = run_main(["2020-01-01", "--url", url], capsys)
    assert (code, lines[-1]) == (1, "Check failed: fetch")
    assert "HTTP 404 draw_not_found" in lines[0]


def test_main_reports_a_proof_that_is_not_json_as_failed_fetch(
    site: tuple[Site, str], capsys: pytest.CaptureFixture[str]
) -> None:
    routes, url = site
    routes.publish(TYPICAL["date"], {}, b"")
    routes.routes[f"/api/v1/draws/{TYPICAL['date']}/proof"] = (200, "text/html", b"<html>")
    code, lines = run_main([TYPICAL["date"], "--url", url], capsys)
    assert (code, lines[-1]) == (1, "Check failed: fetch")


def test_main_reports_an_unreachable_server_as_failed_fetch(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines = run_main(["2026-11-23", "--url", "http://127.0.0.1:9", "--timeout", "5"], capsys)
    assert (code, lines[-1]) == (1, "Check failed: fetch")


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["2026-11-23"],
        ["23/11/2026", "--url", "http://localhost"],
        ["2026-02-30", "--url", "http://localhost"],
        ["2026-11-23", "--url", "file:///etc/passwd"],
        ["2026-11-23", "--url", "http://localhost", "--ballot", "-1"],
        ["2026-11-23", "--url", "http://localhost", "--ballot", "abc"],
    ],
)
def test_main_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert verifier.main(args) == 2
    assert "usage: lottery verify" in capsys.readouterr().err


def test_fetch_and_verify_refuses_non_http_urls_without_raising() -> None:
    checks = verifier.fetch_and_verify(date="2026-11-23", base_url="ftp://example.org")
    assert [(c.name, c.ok) for c in checks] == [("fetch", False)]


def test_help_names_the_time_zone_and_the_open_proof(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        verifier.build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--timezone ZONE" in text and "the zone the lottery states on every page" in text
    assert "(default Europe/Amsterdam)" in text and "--open-proof FILE" in text
