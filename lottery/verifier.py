"""Check a published draw against FAIRNESS.md ("Verifying"), trusting nothing but the data.

Standard library only, so it runs anywhere: ``lottery verify DATE --url BASE_URL``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import http.client
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeGuard

from lottery import fairness
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


# --- the checks, in FAIRNESS.md order ----------------------------------------


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


def check_beacon(beacon: object, *, planned_round: int | None = None) -> Check:
    """Check the proof's ``beacon`` object (null means the draw used no beacon).

    Checked: fields present, ``randomness == SHA-256(signature)`` and, when known,
    ``round == planned_round``. Not yet checked: the BLS signature against the
    chain's public key, and that the round is due at least 30 s after ``closes_at``
    (both need the chain's ``/info``); extend here.
    """
    if beacon is None:
        return Check("beacon", True, "no beacon")
    if not isinstance(beacon, Mapping):
        return Check("beacon", False, f"beacon must be null or an object, got {beacon!r}")
    source, chain, round_, signature, randomness = (
        beacon.get(key) for key in ("source", "chain", "round", "signature", "randomness")
    )
    if not isinstance(source, str) or not source:
        return Check("beacon", False, "beacon source missing")
    if not isinstance(chain, str) or not _HEX.fullmatch(chain):
        return Check("beacon", False, "beacon chain hash missing or not lowercase hex")
    if not _is_int(round_) or round_ < 1:
        return Check("beacon", False, f"beacon round must be a positive integer: {round_!r}")
    if planned_round is not None and round_ != planned_round:
        return Check("beacon", False, f"round {round_} used, round {planned_round} was planned")
    if not isinstance(signature, str) or not _HEX.fullmatch(signature):
        return Check("beacon", False, "beacon signature missing or not lowercase hex")
    if not isinstance(randomness, str) or not _HEX64.fullmatch(randomness):
        return Check("beacon", False, "beacon randomness missing or not 64 lowercase hex digits")
    if hashlib.sha256(bytes.fromhex(signature)).hexdigest() != randomness:
        return Check("beacon", False, f"round {round_}: randomness is not SHA-256 of signature")
    return Check("beacon", True, f"round {round_} of {source}: randomness is SHA-256 of signature")


def check_beacon_round(proof: Mapping[str, Any], chain_info: Mapping[str, Any]) -> Check:
    """The round is the one planned from closes_at and the chain's timing (FAIRNESS.md)."""
    beacon = proof.get("beacon")
    try:
        genesis, period = int(chain_info["genesis_time"]), int(chain_info["period"])
        closes_at = datetime.datetime.fromisoformat(str(proof["closes_at"]).replace("Z", "+00:00"))
        used = int(beacon["round"]) if isinstance(beacon, Mapping) else 0
        planned = beacon_planned_round(
            genesis_time=genesis, period=period, closes_at=int(closes_at.timestamp())
        )
    except (KeyError, TypeError, ValueError) as exc:
        return Check("beacon_round", False, f"cannot compute the planned round: {exc}")
    chain = chain_info.get("hash")
    if isinstance(beacon, Mapping) and chain is not None and chain != beacon.get("chain"):
        return Check("beacon_round", False, f"chain info is for {chain}, proof names {beacon.get('chain')}")
    due = beacon_round_due(genesis_time=genesis, period=period, round_number=used)
    if used != planned:
        return Check(
            "beacon_round", False, f"round {used} used, round {planned} is the first due 30 s after closes_at"
        )
    if due < closes_at.timestamp() + BEACON_DELAY_SECONDS:
        return Check("beacon_round", False, f"round {used} was due before closes_at + 30 s")
    due_at = datetime.datetime.fromtimestamp(due, tz=datetime.UTC).isoformat()
    return Check("beacon_round", True, f"round {used} is the planned round, due {due_at}")


_BLS_G2_SCHEMES = {"pedersen-bls-chained", "pedersen-bls-unchained"}


def check_beacon_signature(
    beacon: object, chain_info: Mapping[str, Any], *, previous_signature: str | None = None
) -> Check:
    """Verify the round's BLS signature against the chain's public key, when we can.

    drand's G2-signature schemes are verified with py_ecc (an optional dependency: this
    module's other checks are stdlib only). Other schemes, or no library, are reported as
    not verified; the other checks still stand.
    """
    if not isinstance(beacon, Mapping):
        return Check("beacon_signature", True, "no beacon")
    scheme = str(chain_info.get("schemeID", "pedersen-bls-chained"))
    if scheme not in _BLS_G2_SCHEMES:
        return Check("beacon_signature", True, f"not verified: scheme {scheme} is not supported here")
    try:
        from py_ecc.bls import G2Basic  # type: ignore[attr-defined]
    except ImportError:
        return Check("beacon_signature", True, "not verified: no BLS library installed (pip install py_ecc)")
    try:
        round_bytes = int(beacon["round"]).to_bytes(8, "big")
        prefix = b""
        if scheme == "pedersen-bls-chained":
            if previous_signature is None:
                return Check(
                    "beacon_signature", True, "not verified: the chained scheme needs the previous signature"
                )
            prefix = bytes.fromhex(previous_signature)
        message = hashlib.sha256(prefix + round_bytes).digest()
        public_key: Any = bytes.fromhex(str(chain_info["public_key"]))
        signature: Any = bytes.fromhex(str(beacon["signature"]))
        valid = G2Basic.Verify(public_key, message, signature)
    except Exception as exc:  # malformed key or signature bytes: a failed check, not a crash
        return Check("beacon_signature", False, f"signature could not be checked: {exc}")
    if not valid:
        return Check(
            "beacon_signature", False, "BLS signature does NOT verify against the chain's public key"
        )
    return Check(
        "beacon_signature", True, f"BLS signature verified against the chain's public key ({scheme})"
    )


def _winner_key(winner: object) -> tuple[object, ...]:
    if not isinstance(winner, Mapping):
        return (repr(winner),)
    return tuple((type(winner.get(f)).__name__, winner.get(f)) for f in _WINNER_FIELDS)


def _check_winners(proof: Mapping[str, Any], ballots: fairness.BallotsTxt) -> Check:
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
    picks = fairness.pick_indices(
        seed=bytes.fromhex(proof["seed"]),
        date=proof["date"],
        ballot_digest=proof["ballot_digest"],
        beacon=beacon["randomness"] if isinstance(beacon, Mapping) else "",
        ballot_count=ballots.count,
        slots=slots,
    )
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
    chain_info: Mapping[str, Any] | None = None,
) -> list[Check]:
    """Run every check of FAIRNESS.md on a proof and its ballots.txt bytes; never raises.

    For a beacon draw, pass the chain's `/info` as `chain_info` to also check that the round
    used is the planned one, due at least 30 s after closes_at (fetch_and_verify does).
    """
    return _verify(
        proof,
        fairness.read_ballots_txt(ballots),
        expected_commitment=expected_commitment,
        expected_date=expected_date,
        chain_info=chain_info,
    )


def _verify(
    proof: Mapping[str, Any],
    ballots: fairness.BallotsTxt,
    *,
    expected_commitment: str | None,
    expected_date: str | None,
    chain_info: Mapping[str, Any] | None,
) -> list[Check]:
    if not isinstance(proof, Mapping):
        proof = {}
    checks = [_check_algorithm(proof), _check_date(proof, expected_date), _check_status(proof)]
    checks.append(_check_seed(proof))
    blocked = _blocked(checks, "commitment", "date", "seed")
    checks.append(blocked or _check_commitment(proof, expected_commitment))
    checks.append(_check_canonical(ballots))
    checks.append(_check_ballot_count(proof, ballots))
    checks.append(_check_ballot_digest(proof, ballots))
    checks.append(check_beacon(proof.get("beacon")))
    if chain_info is not None and isinstance(proof.get("beacon"), Mapping):
        checks.append(check_beacon_round(proof, chain_info))
    blocked = _blocked(checks, "winners", *_WINNERS_NEED)
    checks.append(blocked or _check_winners(proof, ballots))
    return checks


def check_ballot_listed(ballots: bytes, ballot_id: int) -> Check:
    """Check that one (user's own) ballot id is a line of ballots.txt."""
    listed = f"\n{ballot_id}\n".encode() in b"\n" + ballots
    detail = "in ballots.txt" if listed else "NOT in ballots.txt"
    return Check(f"ballot_{ballot_id}", listed, detail)


# --- over HTTP ---------------------------------------------------------------


class _FetchError(Exception):
    pass


@contextlib.contextmanager
def _response(url: str, timeout: float) -> Iterator[http.client.HTTPResponse]:
    """The open response to GET ``url``; any HTTP or network error, also while reading, as _FetchError."""
    # fetch_and_verify only builds http(s) URLs, so no file: or custom scheme gets here.
    request = urllib.request.Request(url, headers={"User-Agent": "lottery-verify/1"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            yield response
    except urllib.error.HTTPError as exc:
        raise _FetchError(f"GET {url}: HTTP {exc.code} {_problem_code(exc) or exc.reason}") from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise _FetchError(f"GET {url}: {reason}") from exc


def _get(url: str, timeout: float) -> bytes:
    with _response(url, timeout) as response:
        body: bytes = response.read()
    return body


def _get_ballots(url: str, timeout: float) -> fairness.BallotsTxt:
    """Download ballots.txt, hashing and checking each piece as it arrives instead of after."""
    reader = fairness.BallotsTxtReader()
    with _response(url, timeout) as response:
        while chunk := response.read1(_READ_SIZE):
            reader.feed(chunk)
        if response.length:  # read1() ends quietly where a Content-Length body is cut short
            raise _FetchError(f"GET {url}: connection closed {response.length} bytes before the end")
    return reader.close()


def _problem_code(exc: urllib.error.HTTPError) -> str | None:
    """The API's error ``code`` from a problem+json body, if there is one."""
    try:
        body = json.loads(exc.read())
    except (OSError, ValueError, http.client.HTTPException):
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def fetch_and_verify(
    *,
    date: str,
    base_url: str,
    timeout: float = 30,
    expected_commitment: str | None = None,
    ballot_ids: Sequence[int] = (),
) -> list[Check]:
    """Fetch a draw's proof and ballots.txt from the service and verify them."""
    if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
        return [Check("fetch", False, f"URL must start with http:// or https://: {base_url!r}")]
    if not _valid_date(date):
        return [Check("fetch", False, f"not a YYYY-MM-DD date: {date!r}")]
    draw_url = f"{base_url.rstrip('/')}/api/v1/draws/{date}"
    try:
        proof = json.loads(_get(f"{draw_url}/proof", timeout))
        ballots = _get_ballots(f"{draw_url}/ballots.txt", timeout)
    except _FetchError as exc:
        return [Check("fetch", False, str(exc))]
    except ValueError:
        return [Check("fetch", False, f"GET {draw_url}/proof: response is not JSON")]
    if not isinstance(proof, dict):
        return [Check("fetch", False, f"GET {draw_url}/proof: response is not a JSON object")]
    chain_info = None
    beacon = proof.get("beacon")
    if isinstance(beacon, Mapping) and isinstance(beacon.get("source"), str):
        info_url = f"{str(beacon['source']).rstrip('/')}/{beacon.get('chain')}/info"
        if urllib.parse.urlsplit(info_url).scheme not in ("http", "https"):
            return [Check("fetch", False, f"beacon source must be http(s): {info_url!r}")]
        try:
            chain_info = json.loads(_get(info_url, timeout))
        except (_FetchError, ValueError) as exc:
            return [Check("fetch", False, f"beacon chain info: {exc}")]
        if not isinstance(chain_info, dict):
            return [Check("fetch", False, f"GET {info_url}: not a JSON object")]
    checks = _verify(
        proof,
        ballots,
        expected_commitment=expected_commitment,
        expected_date=date,
        chain_info=chain_info,
    )
    if chain_info is not None and isinstance(beacon, Mapping):
        previous = None
        if chain_info.get("schemeID", "pedersen-bls-chained") == "pedersen-bls-chained":
            try:
                round_url = (
                    f"{str(beacon['source']).rstrip('/')}/{beacon.get('chain')}/public/{beacon.get('round')}"
                )
                published = json.loads(_get(round_url, timeout))
                previous = published.get("previous_signature") if isinstance(published, dict) else None
            except (_FetchError, ValueError):
                previous = None
        checks.append(check_beacon_signature(beacon, chain_info, previous_signature=previous))
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


def build_parser(prog: str = "lottery verify") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Verify a closed draw independently (FAIRNESS.md)."
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
    parser.add_argument("--timeout", type=float, default=30, help="HTTP timeout in seconds")
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
        print(f"{'PASS' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    print(verdict)


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
    )
    _print_report(checks, as_json=args.json)
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
