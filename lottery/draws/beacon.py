"""A client for a drand randomness beacon's HTTP API (docs/fairness.md, beacon path).

`/{chain}/info` gives genesis_time and period (round timing); `/{chain}/public/{round}`
gives a round's signature and randomness. Configured by LOTTERY_BEACON_URL and
LOTTERY_BEACON_CHAIN; without them draws use no beacon.

Public verifiers trust only the chains of lottery/beacon_chains.py (or one they name): for
one of those, the relay's `/info` must agree with the shipped parameters, and a round is
used only once its signature verifies, so the service never draws with a round every
verifier would reject (docs/beacon.md).
"""

import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from lottery import beacon_chains, fairness
from lottery.beacon_chains import SignatureUnverifiable, TrustedChain

TIMEOUT_SECONDS = 10
# A chain's /info and a round are well under a KiB: a relay's answer is read up to this much.
MAX_ANSWER_BYTES = 64 * 1024


class BeaconError(Exception):
    """The beacon could not be read, or answered something unusable."""


class BeaconRoundNotYet(BeaconError):
    """The round is not published yet: try again later."""


@dataclass(frozen=True)
class ChainInfo:
    chain: str
    genesis_time: int
    period: int
    public_key: str
    scheme: str


@dataclass(frozen=True)
class BeaconRound:
    round: int
    randomness: str
    signature: str


def beacon_configured() -> bool:
    return bool(settings.LOTTERY_BEACON_URL and settings.LOTTERY_BEACON_CHAIN)


def beacon_source() -> str:
    return str(settings.LOTTERY_BEACON_URL).rstrip("/")


def _get_json(url: str) -> dict[str, Any]:
    if not url.startswith(("http://", "https://")):
        raise BeaconError(f"beacon URL must be http(s): {url}")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - scheme checked
            data = response.read(MAX_ANSWER_BYTES + 1)
        if len(data) > MAX_ANSWER_BYTES:
            raise BeaconError(f"{url}: answer longer than {MAX_ANSWER_BYTES} bytes")
        body = json.loads(data)
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 425):
            raise BeaconRoundNotYet(f"{url}: HTTP {exc.code}") from exc
        raise BeaconError(f"{url}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError, RecursionError) as exc:
        raise BeaconError(f"{url}: {exc}") from exc
    if not isinstance(body, dict):
        raise BeaconError(f"{url}: not a JSON object")
    return body


def chain_info(*, source: str | None = None, chain: str | None = None) -> ChainInfo:
    source = (source or beacon_source()).rstrip("/")
    chain = chain or settings.LOTTERY_BEACON_CHAIN
    body = _get_json(f"{source}/{chain}/info")
    try:
        info = ChainInfo(
            chain=str(body.get("hash", chain)),
            genesis_time=int(body["genesis_time"]),
            period=int(body["period"]),
            public_key=str(body.get("public_key", "")),
            scheme=str(body.get("schemeID", beacon_chains.CHAINED)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BeaconError(f"chain info lacks genesis_time/period: {exc}") from exc
    if info.chain != chain:
        raise BeaconError(f"beacon serves chain {info.chain}, expected {chain}")
    if info.period <= 0:
        raise BeaconError("beacon period must be positive")
    if info.scheme not in beacon_chains.SUPPORTED_SCHEMES:
        # No round of it could be verified, here or by anyone using lottery verify.
        raise BeaconError(
            f"chain {info.chain} uses scheme {info.scheme}, whose signatures cannot be verified"
        )
    shipped = beacon_chains.shipped_chain(info.chain)
    if shipped is not None and (info.genesis_time, info.period, info.public_key, info.scheme) != (
        shipped.genesis_time,
        shipped.period,
        shipped.public_key,
        shipped.scheme,
    ):
        # Planning from these would pick rounds that verifiers, using drand's values, reject.
        raise BeaconError(f"{source} serves other parameters for chain {shipped.name} than drand documents")
    return info


def _trusted(source: str, chain: str) -> TrustedChain:
    """The chain's parameters: the shipped ones, else (a chain of the operator's choice) its /info."""
    shipped = beacon_chains.shipped_chain(chain)
    if shipped is not None:
        return shipped
    info = chain_info(source=source, chain=chain)
    try:
        return TrustedChain(
            name=chain[:12],
            hash=info.chain,
            public_key=info.public_key,
            genesis_time=info.genesis_time,
            period=info.period,
            scheme=info.scheme,
        )
    except ValueError as exc:
        raise BeaconError(f"chain info of {chain} is unusable: {exc}") from exc


def fetch_round(*, source: str, chain: str, round_number: int) -> BeaconRound:
    """Round `round_number`, checked: the right round, randomness == SHA-256(signature), and a
    BLS signature that verifies against the chain's public key."""
    body = _get_json(f"{source.rstrip('/')}/{chain}/public/{round_number}")
    try:
        result = BeaconRound(
            round=int(body["round"]),
            randomness=str(body["randomness"]).lower(),
            signature=str(body["signature"]).lower(),
        )
        previous = body.get("previous_signature")
        previous_signature = bytes.fromhex(previous) if isinstance(previous, str) else None
        signature = bytes.fromhex(result.signature)
    except (KeyError, TypeError, ValueError) as exc:
        raise BeaconError(f"round {round_number}: malformed answer: {exc}") from exc
    if result.round != round_number:
        raise BeaconError(f"asked for round {round_number}, got round {result.round}")
    if not fairness.beacon_randomness_valid(signature_hex=result.signature, randomness_hex=result.randomness):
        raise BeaconError(f"round {round_number}: randomness is not SHA-256 of the signature; rejected")
    trusted = _trusted(source, chain)
    try:
        valid = beacon_chains.signature_valid(
            trusted, round_number=round_number, signature=signature, previous_signature=previous_signature
        )
    except SignatureUnverifiable as exc:
        raise BeaconError(f"round {round_number}: signature cannot be verified: {exc}") from exc
    if not valid:
        raise BeaconError(
            f"round {round_number}: signature does not verify against the chain's key; rejected"
        )
    return result
