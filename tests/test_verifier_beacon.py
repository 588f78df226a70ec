"""Beacon trust: real published rounds of the shipped chains, explicit trust, relays.

The rounds in tests/data/drand-rounds.json were copied from drand's own docs and repositories;
each one must verify against the public key shipped in lottery/beacon_chains.py.
"""

import json
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from lottery import beacon_chains, verifier
from lottery.beacon_chains import SHIPPED_CHAINS, SignatureUnverifiable, TrustedChain
from tests.loopback_http import serving
from tests.test_verifier import (
    DRAND_ROUNDS,
    first_failure,
    proof_with_beacon,
    real_round,
    result,
    zone_for,
)

CHAINS = {c.name: c for c in SHIPPED_CHAINS}
VERIFIABLE = [r for r in DRAND_ROUNDS if CHAINS[r["chain"]].scheme in beacon_chains.SUPPORTED_SCHEMES]


def round_id(published: dict[str, Any]) -> str:
    return f"{published['chain']}-{published['round']}"


def signature_valid(published: dict[str, Any], **changes: Any) -> bool:
    published = {**published, **changes}
    previous = published.get("previous_signature")
    return beacon_chains.signature_valid(
        CHAINS[published["chain"]],
        round_number=published["round"],
        signature=bytes.fromhex(published["signature"]),
        previous_signature=bytes.fromhex(previous) if previous is not None else None,
    )


def flip_last_byte(hex_text: str) -> str:
    return hex_text[:-2] + f"{int(hex_text[-2:], 16) ^ 1:02x}"


def test_the_shipped_chains_are_the_league_of_entropy_mainnet_chains() -> None:
    assert {c.name: (c.hash, c.period, c.scheme) for c in SHIPPED_CHAINS} == {
        "default": (
            "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce",
            30,
            "pedersen-bls-chained",
        ),
        "quicknet": (
            "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
            3,
            "bls-unchained-g1-rfc9380",
        ),
        "evmnet": (
            "04f1e9062b8a81f848fded9c12306733282b2727ecced50032187751166ec8c3",
            3,
            "bls-bn254-unchained-on-g1",
        ),
    }
    assert {r["chain"] for r in DRAND_ROUNDS} == set(CHAINS), "every shipped chain has a real round to test"


@pytest.mark.parametrize("published", VERIFIABLE, ids=round_id)
def test_a_real_published_round_verifies_against_the_shipped_key(published: dict[str, Any]) -> None:
    assert signature_valid(published)


@pytest.mark.parametrize("published", VERIFIABLE, ids=round_id)
def test_a_tampered_real_round_does_not_verify(published: dict[str, Any]) -> None:
    assert not signature_valid(published, signature=flip_last_byte(published["signature"]))
    assert not signature_valid(published, round=published["round"] + 1)
    if "previous_signature" in published:
        assert not signature_valid(
            published, previous_signature=flip_last_byte(published["previous_signature"])
        )
    chain = CHAINS[published["chain"]]
    wrong_key = TrustedChain(**{**chain.as_json(), "public_key": flip_last_byte(chain.public_key)})
    assert not beacon_chains.signature_valid(
        wrong_key,
        round_number=published["round"],
        signature=bytes.fromhex(published["signature"]),
        previous_signature=bytes.fromhex(published.get("previous_signature", "")),
    )


def test_the_point_at_infinity_is_no_signature() -> None:
    infinity = {"chain": "quicknet", "round": 42, "signature": "c0" + "00" * 47}
    assert not signature_valid(infinity)


def test_a_real_evmnet_round_cannot_be_verified_here_so_it_fails() -> None:
    published = real_round("evmnet")
    with pytest.raises(SignatureUnverifiable, match="bls-bn254-unchained-on-g1 is not supported"):
        signature_valid(published)
    proof, ballots = proof_with_beacon("evmnet")
    checks = verifier.verify_proof(proof, ballots, zone=zone_for(proof))
    assert first_failure(checks) == "beacon"
    assert "signature not verified" in result(checks, "beacon").detail


def test_a_draw_on_a_real_quicknet_round_passes_with_the_shipped_list_alone() -> None:
    proof, ballots = proof_with_beacon("quicknet")
    checks = verifier.verify_proof(proof, ballots, expected_date=proof["date"], zone=zone_for(proof))
    assert all(c.ok for c in checks), checks


def test_a_draw_on_a_real_mainnet_round_needs_the_previous_signature() -> None:
    proof, ballots = proof_with_beacon("default")
    published = real_round("default")
    zone = zone_for(proof)
    checks = verifier.verify_proof(
        proof, ballots, previous_signature=published["previous_signature"], zone=zone
    )
    assert all(c.ok for c in checks), checks
    checks = verifier.verify_proof(proof, ballots, zone=zone)
    assert first_failure(checks) == "beacon"
    assert "signature not verified: the chained scheme also signs" in result(checks, "beacon").detail


def test_without_py_ecc_a_signature_is_not_verified_and_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    beacon_chains._bls_valid.cache_clear()
    monkeypatch.setitem(sys.modules, "py_ecc.bls", None)
    monkeypatch.setitem(sys.modules, "py_ecc.bls.g2_primitives", None)
    proof, ballots = proof_with_beacon("quicknet")
    checks = verifier.verify_proof(proof, ballots, zone=zone_for(proof))
    assert first_failure(checks) == "beacon"
    assert "signature not verified: no BLS library installed" in result(checks, "beacon").detail
    beacon_chains._bls_valid.cache_clear()


def test_a_chain_named_explicitly_may_not_replace_a_shipped_key() -> None:
    quicknet = CHAINS["quicknet"]
    impostor = TrustedChain(**{**quicknet.as_json(), "public_key": "ab" * 96})
    with pytest.raises(ValueError, match="already trusted"):
        beacon_chains.trusted_chains([impostor])
    assert beacon_chains.trusted_chains([quicknet])[quicknet.hash] == quicknet
    proof, _ = proof_with_beacon("quicknet")
    checks = verifier.fetch_and_verify(
        date=proof["date"], base_url="http://127.0.0.1:9", trust_chains=[impostor]
    )
    assert [(c.name, c.ok) for c in checks] == [("trust_chain", False)]


# --- the command: --trust-chain, --beacon-relay -------------------------------------------


class Relay:
    """A fake service that is also a drand relay: path -> JSON body (404 otherwise)."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        self.requests: list[str] = []


@pytest.fixture
def relay() -> Iterator[tuple[Relay, str]]:
    state = Relay()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            body = state.routes.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as base:
        yield state, base


def publish(state: Relay, proof: dict[str, Any], ballots: bytes) -> None:
    base = f"/api/v1/draws/{proof['date']}"
    state.routes[f"{base}/proof"] = json.dumps(proof).encode()
    state.routes[f"{base}/ballots.txt"] = ballots


def publish_round(state: Relay, published: dict[str, Any], **changes: Any) -> None:
    body = {k: published[k] for k in ("round", "randomness", "signature", "previous_signature")}
    state.routes[f"/{CHAINS['default'].hash}/public/{published['round']}"] = json.dumps(
        {**body, **changes}
    ).encode()


def verify_on(url: str, proof: dict[str, Any]) -> tuple[str | None, list[verifier.Check]]:
    """fetch_and_verify in the zone where the real round's closes_at is a midnight (an offset
    no IANA name has, so not through --timezone); the first failed check, and all of them."""
    checks = verifier.fetch_and_verify(
        date=proof["date"], base_url=url, beacon_relay=url, zone=zone_for(proof)
    )
    return first_failure(checks), checks


def test_a_chained_round_takes_its_previous_signature_from_any_relay(relay: tuple[Relay, str]) -> None:
    state, url = relay
    proof, ballots = proof_with_beacon("default")
    published = real_round("default")
    publish(state, proof, ballots)
    publish_round(state, published)
    failed, checks = verify_on(url, proof)
    assert failed is None, checks
    assert state.requests[-1] == f"/{CHAINS['default'].hash}/public/{published['round']}"

    # A lying relay gains nothing: the trusted key decides.
    publish_round(state, published, previous_signature=flip_last_byte(published["previous_signature"]))
    failed, checks = verify_on(url, proof)
    assert failed == "beacon"
    assert "does NOT verify" in result(checks, "beacon").detail


def test_a_relay_without_the_round_leaves_the_signature_not_verified(relay: tuple[Relay, str]) -> None:
    state, url = relay
    proof, ballots = proof_with_beacon("default")
    publish(state, proof, ballots)
    failed, checks = verify_on(url, proof)
    assert failed == "beacon"
    detail = result(checks, "beacon").detail
    assert "signature not verified" in detail and "HTTP 404" in detail, detail


def test_trust_chain_takes_an_inline_chain_or_a_drand_info_file(tmp_path: Path) -> None:
    quicknet = CHAINS["quicknet"]
    spec = (
        f"{quicknet.hash}:{quicknet.public_key}:{quicknet.genesis_time}:{quicknet.period}:{quicknet.scheme}"
    )
    info = tmp_path / "info.json"
    info.write_text(
        json.dumps(
            {
                "public_key": quicknet.public_key,
                "period": quicknet.period,
                "genesis_time": quicknet.genesis_time,
                "hash": quicknet.hash,
                "schemeID": quicknet.scheme,
                "metadata": {"beaconID": "quicknet"},
            }
        )
    )
    parser = verifier.build_parser()
    for value in (spec, str(info)):
        [chain] = parser.parse_args(["2026-11-23", "--url", "http://x", "--trust-chain", value]).trust_chains
        assert (chain.hash, chain.public_key, chain.genesis_time, chain.period, chain.scheme) == (
            quicknet.hash,
            quicknet.public_key,
            quicknet.genesis_time,
            quicknet.period,
            quicknet.scheme,
        )


@pytest.mark.parametrize(
    "value",
    [
        "ab" * 32 + ":zz:1:3:pedersen-bls-unchained",
        "ab" * 32 + ":abcd:1:0:pedersen-bls-unchained",
        "missing.json",
    ],
)
def test_a_malformed_trusted_chain_is_a_usage_error(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert verifier.main(["2026-11-23", "--url", "http://localhost", "--trust-chain", value]) == 2
    assert "cannot trust chain" in capsys.readouterr().err


def test_help_explains_the_trust_model(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        verifier.build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--trust-chain" in text and "HASH:PUBKEY:GENESIS:PERIOD:SCHEME" in text
    assert "never read from the operator's server" in text
    assert "deadline for all downloads together" in text
    for chain in SHIPPED_CHAINS:
        assert chain.name in text
