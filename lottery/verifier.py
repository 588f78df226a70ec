"""Check a published draw against docs/fairness.md ("Verifying"), trusting nothing but the data.

Standard library only, so it runs anywhere: ``lottery verify DATE --url BASE_URL``. A beacon
round is trusted only on a chain the verifier already trusts (lottery/beacon_chains.py, or one
named with ``--trust-chain``), and its BLS signature is checked with py_ecc when installed;
without it the beacon check fails as "not verified". The service's answers are hostile input:
every download is bounded in size, the downloads and the re-run of the draw share one
deadline, and every failure is a failed check with its name (docs/beacon.md).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import http.client
import json
import re
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lottery import beacon_chains, fairness
from lottery.beacon_chains import SignatureUnverifiable, TrustedChain
from lottery.fairness import BEACON_DELAY_SECONDS, beacon_planned_round, beacon_round_due

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"(?:[0-9a-f]{2})+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WINNER_FIELDS = ("slot", "prize_rank", "ballot_id", "index", "counter")
_WINNERS_NEED = ("date", "seed", "ballots_canonical", "ballot_digest", "beacon")
# A hostile proof must not make the verifier build billions of prize slots.
_MAX_SLOTS = 1_000_000
# Largest piece of a response read at once: what the socket has, so work overlaps the transfer.
_READ_SIZE = 1 << 20
# A proof is a few KiB; a drand round's JSON well under one.
_MAX_PROOF_BYTES = 64 * 1024
_MAX_ROUND_BYTES = 16 * 1024
# ballots.txt: a line is at most 19 digits (a 64-bit id) and a newline, about 12 in practice.
_MAX_BALLOT_LINE = 20
_BALLOTS_SLACK = 1024
_MAX_BALLOTS = 20_000_000
# Deeper than any proof (proof > winners > winner is 3): refused before any check walks it.
_MAX_JSON_DEPTH = 16
DEFAULT_TIMEOUT = 60.0
# A day: far more than any verification needs, and within what sockets and timers accept.
_MAX_TIMEOUT = 86_400
# The service's default LOTTERY_TIMEZONE: the zone whose midnight ends a draw's date.
DEFAULT_TIMEZONE = "Europe/Amsterdam"
# What a saved open proof must still say in the final one (docs/fairness.md, section 5).
_OPEN_PROOF_FIELDS = ("date", "commitment", "prizes", "closes_at")
_BEACON_PLAN_FIELDS = ("source", "chain", "round")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _is_int(value: object) -> TypeGuard[int]:
    # bool is an int subclass, and True == 1: a published `true` must not pass for 1.
    return type(value) is int


def _valid_date(value: object) -> bool:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _blocked(checks: Sequence[Check], name: str, *needs: str) -> Check | None:
    """A failed check for ``name`` when a check it depends on failed, else None."""
    failed = [c.name for c in checks if c.name in needs and not c.ok]
    if not failed:
        return None
    return Check(name, False, f"not checked: {', '.join(failed)} failed")


# --- the checks, in docs/fairness.md order -------------------------------------------


def _check_algorithm(proof: Mapping[str, Any]) -> Check:
    value = proof.get("algorithm")
    if value != fairness.ALGORITHM:
        return Check("algorithm", False, f"expected {fairness.ALGORITHM!r}, got {value!r}")
    return Check("algorithm", True, fairness.ALGORITHM)


def _check_date(proof: Mapping[str, Any], expected: str | None) -> Check:
    value = proof.get("date")
    if not _valid_date(value):
        return Check("date", False, f"not a YYYY-MM-DD date: {value!r}")
    if expected is not None and value != expected:
        return Check("date", False, f"proof is for {value}, expected {expected}")
    return Check("date", True, str(value))


def _check_status(proof: Mapping[str, Any]) -> Check:
    value = proof.get("status")
    if value != "closed":
        return Check("status", False, f"draw is {value!r}, winners are only final once 'closed'")
    return Check("status", True, "closed")


def _parse_time(value: object) -> datetime.datetime | None:
    """An ISO 8601 time with an offset, or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def midnight_ending(date: datetime.date, zone: datetime.tzinfo) -> datetime.datetime:
    """The instant (UTC) of the midnight that ends ``date`` in ``zone``; zoneinfo resolves a
    23- or 25-hour day."""
    midnight = datetime.datetime.combine(date + datetime.timedelta(days=1), datetime.time(0), tzinfo=zone)
    return midnight.astimezone(datetime.UTC)


def _check_closes_at(proof: Mapping[str, Any], zone: datetime.tzinfo) -> Check:
    # An operator free to choose closes_at chooses the planned beacon round, even one already
    # public at the commitment: closes_at must be the midnight that ends D (docs/fairness.md).
    text = proof.get("closes_at")
    closes_at = _parse_time(text)
    if closes_at is None:
        return Check("closes_at", False, f"not an ISO 8601 time with offset: {text!r}")
    try:
        expected = midnight_ending(datetime.date.fromisoformat(proof["date"]), zone)
    except OverflowError:  # the year 9999 has no midnight after its last day
        return Check("closes_at", False, f"no midnight ends {proof['date']}")
    midnight = f"the midnight that ends {proof['date']} in {zone}"
    if closes_at != expected:
        return Check("closes_at", False, f"proof says {text}, {midnight} is {expected.isoformat()}")
    return Check("closes_at", True, f"{expected.isoformat()}, {midnight}")


def _beacon_plan(beacon: object) -> object:
    if not isinstance(beacon, Mapping):
        return beacon
    return {key: beacon.get(key) for key in _BEACON_PLAN_FIELDS}


def _check_open_proof(proof: Mapping[str, Any], saved: Mapping[str, Any]) -> Check:
    """The final proof says what the one saved while the draw was open said: a beacon dropped or
    swapped, or prizes changed after the fact, show here."""
    pairs = [(field, saved.get(field), proof.get(field)) for field in _OPEN_PROOF_FIELDS]
    pairs.append(("beacon", _beacon_plan(saved.get("beacon")), _beacon_plan(proof.get("beacon"))))
    for field, was, now in pairs:
        # JSON text compares types too: a published `true` is not the saved `1`.
        if json.dumps(was, sort_keys=True) != json.dumps(now, sort_keys=True):
            detail = f"{field} differs from the proof saved while open: saved {was!r}, now {now!r}"
            return Check("open_proof", False, detail)
    return Check("open_proof", True, "commitment, prizes, closes_at and beacon plan as saved while open")


def _check_seed(proof: Mapping[str, Any]) -> Check:
    value = proof.get("seed")
    if value is None:
        return Check("seed", False, "seed not revealed")
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        return Check("seed", False, f"seed must be {fairness.SEED_BYTES} bytes as lowercase hex")
    return Check("seed", True, f"{fairness.SEED_BYTES} bytes revealed")


def _check_commitment(proof: Mapping[str, Any], expected: str | None) -> Check:
    published = proof.get("commitment")
    recomputed = fairness.commitment(date=proof["date"], seed=bytes.fromhex(proof["seed"]))
    if published != recomputed:
        detail = f"seed and date give {recomputed}, proof says {published!r}"
        return Check("commitment", False, detail)
    if expected is not None and expected.strip().lower() != published:
        detail = f"proof says {published}, recorded while open: {expected}"
        return Check("commitment", False, detail)
    suffix = ", as recorded while open" if expected is not None else ""
    return Check("commitment", True, f"{recomputed} matches seed{suffix}")


def _check_canonical(ballots: fairness.BallotsTxt) -> Check:
    if not ballots.canonical:
        return Check("ballots_canonical", False, f"ballots.txt is not canonical: {ballots.defect}")
    return Check("ballots_canonical", True, f"{ballots.count} ids, canonical")


def _check_ballot_count(proof: Mapping[str, Any], ballots: fairness.BallotsTxt) -> Check:
    published = proof.get("ballot_count")
    lines = ballots.count
    if not _is_int(published) or published != lines:
        detail = f"proof says {published!r}, ballots.txt has {lines} lines"
        return Check("ballot_count", False, detail)
    return Check("ballot_count", True, f"{lines} ballots")


def _check_ballot_digest(proof: Mapping[str, Any], ballots: fairness.BallotsTxt) -> Check:
    published = proof.get("ballot_digest")
    actual = ballots.digest
    if published != actual:
        detail = f"SHA-256(ballots.txt) is {actual}, proof says {published!r}"
        return Check("ballot_digest", False, detail)
    return Check("ballot_digest", True, actual)


def _trusted_chain(beacon: Mapping[str, Any], trusted: Mapping[str, TrustedChain]) -> TrustedChain | None:
    chain = beacon.get("chain")
    return trusted.get(chain) if isinstance(chain, str) else None


def check_beacon(
    beacon: object,
    *,
    trusted: Mapping[str, TrustedChain] | None = None,
    previous_signature: str | None = None,
    previous_signature_problem: str = "none was given",
) -> Check:
    """Check the proof's ``beacon`` object (null means the draw used no beacon).

    The round must be on a chain in ``trusted`` (default: the shipped chains), its randomness
    SHA-256 of its signature, and the signature valid under that chain's public key; a
    signature that cannot be checked fails too. A chained scheme also signs the previous
    round's signature: pass it as ``previous_signature`` (any relay's answer will do, the
    trusted key decides), or say in ``previous_signature_problem`` why there is none.
    """
    if beacon is None:
        return Check("beacon", True, "no beacon")
    if not isinstance(beacon, Mapping):
        return Check("beacon", False, f"beacon must be null or an object, got {beacon!r}")
    trusted = beacon_chains.trusted_chains() if trusted is None else trusted
    source, chain_hash, round_, signature, randomness = (
        beacon.get(key) for key in ("source", "chain", "round", "signature", "randomness")
    )
    if not isinstance(source, str) or not source:
        return Check("beacon", False, "beacon source missing")
    if not isinstance(chain_hash, str) or not _HEX.fullmatch(chain_hash):
        return Check("beacon", False, "beacon chain hash missing or not lowercase hex")
    if not _is_int(round_) or not 1 <= round_ < 2**64:
        return Check("beacon", False, f"beacon round must be a positive 64-bit integer: {round_!r}")
    if not isinstance(signature, str) or not _HEX.fullmatch(signature):
        return Check("beacon", False, "beacon signature missing or not lowercase hex")
    if not isinstance(randomness, str) or not _HEX64.fullmatch(randomness):
        return Check("beacon", False, "beacon randomness missing or not 64 lowercase hex digits")
    chain = trusted.get(chain_hash)
    if chain is None:
        detail = (
            f"chain {chain_hash} not trusted: the operator names it, but only a chain the verifier "
            "already trusts can vouch for a round (see --trust-chain)"
        )
        return Check("beacon", False, detail)
    if hashlib.sha256(bytes.fromhex(signature)).hexdigest() != randomness:
        return Check("beacon", False, f"round {round_}: randomness is not SHA-256 of signature")
    previous = None
    if chain.chained and previous_signature is not None and _HEX.fullmatch(previous_signature):
        previous = bytes.fromhex(previous_signature)
    try:
        valid = beacon_chains.signature_valid(
            chain, round_number=round_, signature=bytes.fromhex(signature), previous_signature=previous
        )
    except SignatureUnverifiable as exc:
        problem = f" ({previous_signature_problem})" if chain.chained and previous is None else ""
        return Check("beacon", False, f"round {round_}: signature not verified: {exc}{problem}")
    if not valid:
        detail = f"round {round_}: BLS signature does NOT verify against the public key of chain {chain.name}"
        return Check("beacon", False, detail)
    detail = (
        f"round {round_} of chain {chain.name} ({chain.scheme}): BLS signature verified against its "
        "trusted public key, randomness is SHA-256 of it"
    )
    return Check("beacon", True, detail)


def check_beacon_round(
    proof: Mapping[str, Any], *, trusted: Mapping[str, TrustedChain] | None = None
) -> Check:
    """The round is the first due at least 30 s after closes_at, by the TRUSTED chain's timing."""
    beacon = proof.get("beacon")
    if beacon is None:
        return Check("beacon_round", True, "no beacon")
    if not isinstance(beacon, Mapping):
        return Check("beacon_round", False, "not checked: no beacon object")
    chain = _trusted_chain(beacon, beacon_chains.trusted_chains() if trusted is None else trusted)
    if chain is None:
        return Check("beacon_round", False, "not checked: the beacon's chain is not trusted")
    used, closes_at_text = beacon.get("round"), proof.get("closes_at")
    if not _is_int(used):
        return Check("beacon_round", False, f"not checked: beacon round is {used!r}")
    closes_at = _parse_time(closes_at_text)
    if closes_at is None:
        return Check(
            "beacon_round", False, f"closes_at is not an ISO 8601 time with offset: {closes_at_text!r}"
        )
    closes = closes_at.timestamp()
    planned = beacon_planned_round(
        genesis_time=chain.genesis_time, period=chain.period, closes_at=int(closes)
    )
    due = beacon_round_due(genesis_time=chain.genesis_time, period=chain.period, round_number=used)
    if used != planned:
        return Check(
            "beacon_round", False, f"round {used} used, round {planned} is the first due 30 s after closes_at"
        )
    if due < closes + BEACON_DELAY_SECONDS:
        return Check("beacon_round", False, f"round {used} was due before closes_at + 30 s")
    return Check("beacon_round", True, f"round {used} is the planned round, due {_utc_text(due)}")


def _utc_text(seconds: int) -> str:
    try:
        return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC).isoformat()
    except (OverflowError, OSError, ValueError):  # past the year 9999, say: a hostile closes_at
        return f"at Unix time {seconds}"


def _winner_key(winner: object) -> tuple[object, ...]:
    if not isinstance(winner, Mapping):
        return (repr(winner),)
    return tuple((type(winner.get(f)).__name__, winner.get(f)) for f in _WINNER_FIELDS)


def _check_winners(
    proof: Mapping[str, Any], ballots: fairness.BallotsTxt, deadline: _Deadline | None = None
) -> Check:
    beacon = proof.get("beacon")
    prizes = proof.get("prizes")
    if not isinstance(prizes, list) or not all(isinstance(p, Mapping) for p in prizes):
        return Check("winners", False, "prize table missing or malformed")
    counts = [p.get("count") for p in prizes]
    if all(_is_int(c) for c in counts) and sum(counts) > _MAX_SLOTS:
        return Check("winners", False, f"prize table has more than {_MAX_SLOTS} prizes")
    try:
        slots = fairness.prize_slots(prizes)
    except (KeyError, ValueError) as exc:
        return Check("winners", False, f"prize table unusable: {exc}")
    try:
        picks = fairness.pick_indices(
            seed=bytes.fromhex(proof["seed"]),
            date=proof["date"],
            ballot_digest=proof["ballot_digest"],
            beacon=beacon["randomness"] if isinstance(beacon, Mapping) else "",
            ballot_count=ballots.count,
            slots=slots,
            deadline=None if deadline is None else deadline.at,
        )
    except TimeoutError as exc:
        raise _DeadlinePassed("re-running the draw") from exc
    expected = [
        {
            "slot": p.slot,
            "prize_rank": p.prize_rank,
            "ballot_id": ballots.id_at(p.index),
            "index": p.index,
            "counter": p.counter,
        }
        for p in picks
    ]
    published = proof.get("winners")
    if not isinstance(published, list):
        return Check("winners", False, f"winners must be a list, got {published!r}")
    for position, (want, got) in enumerate(zip(expected, published, strict=False)):
        if _winner_key(want) != _winner_key(got):
            return Check("winners", False, f"winner {position}: expected {want}, proof has {got}")
    if len(expected) != len(published):
        detail = f"expected {len(expected)} winners, proof has {len(published)}"
        return Check("winners", False, detail)
    return Check("winners", True, f"{len(expected)} winners reproduced from {len(slots)} slots")


def verify_proof(
    proof: Mapping[str, Any],
    ballots: bytes,
    *,
    expected_commitment: str | None = None,
    expected_date: str | None = None,
    trust_chains: Iterable[TrustedChain] = (),
    previous_signature: str | None = None,
    zone: datetime.tzinfo | None = None,
    open_proof: Mapping[str, Any] | None = None,
) -> list[Check]:
    """Run every check of docs/fairness.md on a proof and its ballots.txt bytes; never raises.

    A beacon is trusted only on a shipped chain or one of ``trust_chains``; for the chained
    scheme pass the round's ``previous_signature`` (fetch_and_verify reads it from a relay).
    ``zone`` is the lottery's time zone (default DEFAULT_TIMEZONE), ``open_proof`` a proof
    saved while the draw was open.
    """
    return _verify(
        proof,
        fairness.read_ballots_txt(ballots),
        expected_commitment=expected_commitment,
        expected_date=expected_date,
        trusted=beacon_chains.trusted_chains(trust_chains),
        previous_signature=previous_signature,
        previous_signature_problem="none was given",
        deadline=None,
        zone=ZoneInfo(DEFAULT_TIMEZONE) if zone is None else zone,
        open_proof=open_proof,
    )


def _verify(
    proof: Mapping[str, Any],
    ballots: fairness.BallotsTxt,
    *,
    expected_commitment: str | None,
    expected_date: str | None,
    trusted: Mapping[str, TrustedChain],
    previous_signature: str | None,
    previous_signature_problem: str,
    deadline: _Deadline | None,
    zone: datetime.tzinfo,
    open_proof: Mapping[str, Any] | None,
) -> list[Check]:
    if not isinstance(proof, Mapping):
        proof = {}
    checks = [_check_algorithm(proof), _check_date(proof, expected_date), _check_status(proof)]
    checks.append(_blocked(checks, "closes_at", "date") or _check_closes_at(proof, zone))
    if open_proof is not None:
        checks.append(_check_open_proof(proof, open_proof))
    checks.append(_check_seed(proof))
    blocked = _blocked(checks, "commitment", "date", "seed")
    checks.append(blocked or _check_commitment(proof, expected_commitment))
    checks.append(_check_canonical(ballots))
    checks.append(_check_ballot_count(proof, ballots))
    checks.append(_check_ballot_digest(proof, ballots))
    checks.append(
        check_beacon(
            proof.get("beacon"),
            trusted=trusted,
            previous_signature=previous_signature,
            previous_signature_problem=previous_signature_problem,
        )
    )
    blocked = _blocked(checks, "beacon_round", "closes_at") if proof.get("beacon") is not None else None
    checks.append(blocked or check_beacon_round(proof, trusted=trusted))
    blocked = _blocked(checks, "winners", *_WINNERS_NEED)
    checks.append(blocked or _check_winners(proof, ballots, deadline))
    return checks


def check_ballot_listed(ballots: bytes, ballot_id: int) -> Check:
    """Check that one (user's own) ballot id is a line of ballots.txt."""
    listed = f"\n{ballot_id}\n".encode() in b"\n" + ballots
    detail = "in ballots.txt" if listed else "NOT in ballots.txt"
    return Check(f"ballot_{ballot_id}", listed, detail)


# --- over HTTP ---------------------------------------------------------------


class _FetchError(Exception):
    pass


class _DeadlinePassed(Exception):
    pass


class _Deadline:
    """One deadline for every download of a verification together."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()


def _abort(connection: http.client.HTTPConnection) -> None:
    # Wakes a read blocked on a server that trickles its answer: the socket timeout alone
    # restarts with every byte that arrives.
    if connection.sock is not None:
        with contextlib.suppress(OSError):
            connection.sock.shutdown(socket.SHUT_RDWR)


def _download(url: str, deadline: _Deadline, limit: int, feed: Callable[[bytes], None]) -> None:
    """GET ``url`` and pass its body to ``feed`` piece by piece: at most ``limit`` bytes, all
    before the deadline. Raises _FetchError, or _DeadlinePassed once the deadline is reached."""
    remaining = deadline.remaining()
    if remaining <= 0:
        raise _DeadlinePassed(f"GET {url}")
    try:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not http(s)")
        connection_type = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_type(parts.netloc, timeout=remaining)
    except (ValueError, http.client.HTTPException) as exc:  # e.g. a port that is no number
        raise _FetchError(f"not a usable http(s) URL: {url!r}") from exc
    timer = threading.Timer(remaining, _abort, args=(connection,))
    timer.daemon = True
    timer.start()
    try:
        path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        connection.request("GET", path, headers={"User-Agent": "lottery-verify/1"})
        response = connection.getresponse()
        if response.status != 200:
            raise _FetchError(
                f"GET {url}: HTTP {response.status} {_problem_code(response) or response.reason}"
            )
        if response.length is not None and response.length > limit:
            raise _FetchError(f"GET {url}: answer of {response.length} bytes, more than the {limit} allowed")
        received = 0
        while chunk := response.read1(min(_READ_SIZE, limit + 1 - received)):
            received += len(chunk)
            if received > limit:
                raise _FetchError(f"GET {url}: answer longer than the {limit} bytes allowed")
            feed(chunk)
        if response.length:  # read1() ends quietly where a Content-Length body is cut short
            raise _FetchError(f"GET {url}: connection closed {response.length} bytes before the end")
    except (OSError, http.client.HTTPException, _FetchError) as exc:
        if deadline.remaining() <= 0:
            raise _DeadlinePassed(f"GET {url}") from exc
        if isinstance(exc, _FetchError):
            raise
        raise _FetchError(f"GET {url}: {exc or type(exc).__name__}") from exc
    finally:
        timer.cancel()
        connection.close()
    if deadline.remaining() <= 0:  # an aborted body without a length ends like a whole one
        raise _DeadlinePassed(f"GET {url}")


def _problem_code(response: http.client.HTTPResponse) -> str | None:
    """The API's error ``code`` from a (small) problem+json body, if there is one."""
    try:
        body = json.loads(response.read(4096))
    except (OSError, ValueError, RecursionError, http.client.HTTPException):
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def _too_deep(value: object) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            if depth > _MAX_JSON_DEPTH:
                return True
            stack.extend((child, depth + 1) for child in children)
    return False


def _get_json(url: str, deadline: _Deadline, limit: int) -> dict[str, Any]:
    parts: list[bytes] = []
    _download(url, deadline, limit, parts.append)
    try:
        body = json.loads(b"".join(parts))
    except RecursionError as exc:
        raise _FetchError(f"GET {url}: JSON nested too deeply to read") from exc
    except ValueError as exc:
        raise _FetchError(f"GET {url}: response is not JSON") from exc
    if not isinstance(body, dict):
        raise _FetchError(f"GET {url}: response is not a JSON object")
    if _too_deep(body):
        raise _FetchError(f"GET {url}: JSON nested deeper than {_MAX_JSON_DEPTH} levels")
    return body


def _get_ballots(url: str, deadline: _Deadline, limit: int) -> fairness.BallotsTxt:
    """Download ballots.txt, hashing and checking each piece as it arrives instead of after."""
    reader = fairness.BallotsTxtReader()
    _download(url, deadline, limit, reader.feed)
    return reader.close()


def _previous_signature(
    beacon: Mapping[str, Any], chain: TrustedChain, relay: str, deadline: _Deadline
) -> tuple[str | None, str]:
    """The previous signature that round ``beacon['round']`` of a chained chain also signs, as
    ``relay`` publishes it, or None and why not. The relay needs no trust: a wrong answer only
    makes the signature fail against the trusted key."""
    url = f"{relay.rstrip('/')}/{chain.hash}/public/{beacon['round']}"
    try:
        published = _get_json(url, deadline, _MAX_ROUND_BYTES)
    except _FetchError as exc:
        return None, str(exc)
    previous = published.get("previous_signature")
    if (
        published.get("round") != beacon["round"]
        or not isinstance(previous, str)
        or not _HEX.fullmatch(previous)
    ):
        return None, f"GET {url}: no previous_signature of round {beacon['round']}"
    return previous, ""


def fetch_and_verify(
    *,
    date: str,
    base_url: str,
    timeout: float = DEFAULT_TIMEOUT,
    expected_commitment: str | None = None,
    ballot_ids: Sequence[int] = (),
    trust_chains: Iterable[TrustedChain] = (),
    beacon_relay: str | None = None,
    zone: datetime.tzinfo | None = None,
    open_proof: Mapping[str, Any] | None = None,
) -> list[Check]:
    """Fetch a draw's proof and ballots.txt from the service and verify them; never raises.

    ``timeout`` bounds the downloads and the re-run of the draw together. For a chained beacon
    the round's previous signature is read from ``beacon_relay`` (default: the proof's beacon
    source). ``zone`` and ``open_proof`` as for verify_proof.
    """
    if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
        return [Check("fetch", False, f"URL must start with http:// or https://: {base_url!r}")]
    if not _valid_date(date):
        return [Check("fetch", False, f"not a YYYY-MM-DD date: {date!r}")]
    try:
        trusted = beacon_chains.trusted_chains(trust_chains)
    except ValueError as exc:
        return [Check("trust_chain", False, str(exc))]
    deadline = _Deadline(timeout)
    draw_url = f"{base_url.rstrip('/')}/api/v1/draws/{date}"
    try:
        return _fetch_and_verify(
            draw_url,
            deadline,
            trusted,
            date=date,
            expected_commitment=expected_commitment,
            ballot_ids=ballot_ids,
            beacon_relay=beacon_relay,
            zone=ZoneInfo(DEFAULT_TIMEZONE) if zone is None else zone,
            open_proof=open_proof,
        )
    except _DeadlinePassed as exc:
        detail = f"verification did not finish within {deadline.seconds:g} s ({exc} was under way)"
        return [Check("deadline", False, detail)]


def _fetch_and_verify(
    draw_url: str,
    deadline: _Deadline,
    trusted: Mapping[str, TrustedChain],
    *,
    date: str,
    expected_commitment: str | None,
    ballot_ids: Sequence[int],
    beacon_relay: str | None,
    zone: datetime.tzinfo,
    open_proof: Mapping[str, Any] | None,
) -> list[Check]:
    try:
        proof = _get_json(f"{draw_url}/proof", deadline, _MAX_PROOF_BYTES)
    except _FetchError as exc:
        return [Check("fetch", False, str(exc))]
    count = proof.get("ballot_count")
    if not _is_int(count) or not 0 <= count <= _MAX_BALLOTS:
        detail = (
            f"the proof's ballot_count is {count!r} (status {proof.get('status')!r}), not a number of "
            f"ballots up to {_MAX_BALLOTS}: ballots.txt not downloaded"
        )
        return [Check("fetch", False, detail)]
    try:
        ballots = _get_ballots(f"{draw_url}/ballots.txt", deadline, count * _MAX_BALLOT_LINE + _BALLOTS_SLACK)
    except _FetchError as exc:
        return [Check("fetch", False, str(exc))]
    previous, problem = None, "none was read"
    beacon = proof.get("beacon")
    if isinstance(beacon, Mapping) and _is_int(beacon.get("round")):
        chain = _trusted_chain(beacon, trusted)
        relay = beacon_relay or beacon.get("source")
        if chain is not None and chain.chained and isinstance(relay, str):
            previous, problem = _previous_signature(beacon, chain, relay, deadline)
    checks = _verify(
        proof,
        ballots,
        expected_commitment=expected_commitment,
        expected_date=date,
        trusted=trusted,
        previous_signature=previous,
        previous_signature_problem=problem,
        deadline=deadline,
        zone=zone,
        open_proof=open_proof,
    )
    checks.extend(check_ballot_listed(ballots.data, ballot_id) for ballot_id in ballot_ids)
    return checks


# --- command line ------------------------------------------------------------


def _date_arg(value: str) -> str:
    if not _valid_date(value):
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {value!r}")
    return value


def _url_arg(value: str) -> str:
    if urllib.parse.urlsplit(value).scheme not in ("http", "https"):
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {value!r}")
    return value


def _ballot_arg(value: str) -> int:
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"not a ballot id: {value!r}")
    return int(value)


def _timeout_arg(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= _MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"not a number of seconds from 0 to {_MAX_TIMEOUT}: {value!r}")
    return seconds


def _timezone_arg(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except ZoneInfoNotFoundError as exc:
        raise argparse.ArgumentTypeError(
            f"unknown time zone {value!r} (an IANA name such as {DEFAULT_TIMEZONE}; this needs the "
            "system's time zone database, e.g. /usr/share/zoneinfo, or the tzdata package)"
        ) from exc
    except ValueError as exc:  # a path-like or empty key
        raise argparse.ArgumentTypeError(f"not a time zone name: {value!r}") from exc


def _open_proof_arg(value: str) -> dict[str, Any]:
    """A proof saved while the draw was open: read with the same bounds as a downloaded one."""
    try:
        with Path(value).open("rb") as file:
            data = file.read(_MAX_PROOF_BYTES + 1)
        if len(data) > _MAX_PROOF_BYTES:
            raise ValueError(f"longer than the {_MAX_PROOF_BYTES} bytes allowed")
        proof = json.loads(data)
        if not isinstance(proof, dict):
            raise ValueError("not a JSON object")
        if _too_deep(proof):
            raise ValueError(f"JSON nested deeper than {_MAX_JSON_DEPTH} levels")
    except RecursionError as exc:
        raise argparse.ArgumentTypeError(f"cannot read open proof {value!r}: JSON nested too deeply") from exc
    except (OSError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"cannot read open proof {value!r}: {exc}") from exc
    return proof


def _trust_chain_arg(value: str) -> TrustedChain:
    """``HASH:PUBKEY:GENESIS:PERIOD:SCHEME``, or a file holding the chain's drand /info JSON."""
    try:
        if re.fullmatch(r"[0-9a-f]{64}:.*", value):
            return beacon_chains.chain_from_spec(value)
        info = json.loads(Path(value).read_text(encoding="utf-8"))
        if not isinstance(info, dict):
            raise ValueError("the file must hold a JSON object (a chain's /info)")
        return beacon_chains.chain_from_info(info)
    except (OSError, ValueError, RecursionError) as exc:
        raise argparse.ArgumentTypeError(f"cannot trust chain {value!r}: {exc}") from exc


_DESCRIPTION = """\
Verify a closed draw independently (docs/fairness.md): exit 0 only if every check passes.

A beacon round counts only on a chain this command already trusts: one of the League of
Entropy's public drand chains it ships (below), or one you name with --trust-chain. The
chain the proof names is the operator's claim and is never read from the operator's server."""

_EPILOG = """\
shipped chains (lottery/beacon_chains.py):
%(chains)s

--trust-chain takes HASH:PUBKEY:GENESIS:PERIOD:SCHEME (lowercase hex, whole seconds, a
drand scheme such as pedersen-bls-unchained), or the path of a JSON file holding the chain's
drand /info (hash, public_key, genesis_time, period, schemeID). Only trust a chain whose
parameters you got from its operators, not from the lottery."""


def build_parser(prog: str = "lottery verify") -> argparse.ArgumentParser:
    chains = "\n".join(
        f"  {c.name:<9} {c.hash}  {c.period} s, {c.scheme}"
        + ("" if c.scheme in beacon_chains.SUPPORTED_SCHEMES else " (cannot be verified here: fails)")
        for c in beacon_chains.SHIPPED_CHAINS
    )
    parser = argparse.ArgumentParser(
        prog=prog,
        description=_DESCRIPTION,
        epilog=_EPILOG % {"chains": chains},
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("date", type=_date_arg, metavar="DATE", help="draw date, YYYY-MM-DD")
    parser.add_argument(
        "--url",
        required=True,
        type=_url_arg,
        metavar="BASE_URL",
        help="service base URL",
    )
    parser.add_argument(
        "--ballot",
        dest="ballots",
        type=_ballot_arg,
        action="append",
        default=[],
        metavar="ID",
        help="also check that this ballot id is in ballots.txt (repeatable)",
    )
    parser.add_argument(
        "--commitment", metavar="HEX", help="the commitment you recorded while the draw was open"
    )
    parser.add_argument(
        "--open-proof",
        type=_open_proof_arg,
        metavar="FILE",
        help="a proof you saved while the draw was open (GET /api/v1/draws/DATE/proof): its "
        "commitment, prizes, closes_at and beacon plan must be unchanged",
    )
    parser.add_argument(
        "--timezone",
        dest="zone",
        type=_timezone_arg,
        default=DEFAULT_TIMEZONE,
        metavar="ZONE",
        help="the lottery's time zone, an IANA name: the zone the lottery states on every page "
        f"(default {DEFAULT_TIMEZONE}); closes_at must be the midnight that ends DATE there",
    )
    parser.add_argument(
        "--trust-chain",
        dest="trust_chains",
        type=_trust_chain_arg,
        action="append",
        default=[],
        metavar="CHAIN",
        help="also trust this beacon chain (repeatable; format below)",
    )
    parser.add_argument(
        "--beacon-relay",
        type=_url_arg,
        metavar="URL",
        help="drand relay to read a chained round's previous signature from "
        "(default: the proof's beacon source; any relay will do, the trusted key decides)",
    )
    parser.add_argument(
        "--timeout",
        type=_timeout_arg,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"deadline for all downloads together and the re-run of the draw (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def _print_report(checks: Sequence[Check], *, as_json: bool) -> None:
    failed = next((c.name for c in checks if not c.ok), None)
    verdict = "All checks passed" if failed is None else f"Check failed: {failed}"
    if as_json:
        report = {"ok": failed is None, "verdict": verdict, "checks": [asdict(c) for c in checks]}
        print(json.dumps(report, indent=2))
        return
    for check in checks:
        print(_printable(f"{'PASS' if check.ok else 'FAIL'} {check.name}: {check.detail}"))
    print(verdict)


def _printable(text: str) -> str:
    """``text`` with what a terminal would act on or cannot print escaped: a detail may quote the
    server (an HTTP reason, a problem code, a beacon source), whose escape sequences, line breaks
    or lone surrogates could otherwise forge or hide lines of the report, or crash the print."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def main(argv: Sequence[str] | None = None) -> int:
    """``lottery verify DATE --url BASE_URL``: exit 0 if all checks pass, 1 if not, 2 on usage."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["verify"]:
        args_list = args_list[1:]
    try:
        args = build_parser().parse_args(args_list)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    checks = fetch_and_verify(
        date=args.date,
        base_url=args.url,
        timeout=args.timeout,
        expected_commitment=args.commitment,
        ballot_ids=args.ballots,
        trust_chains=args.trust_chains,
        beacon_relay=args.beacon_relay,
        zone=args.zone,
        open_proof=args.open_proof,
    )
    _print_report(checks, as_json=args.json)
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
