"""A client for a drand randomness beacon's HTTP API (FAIRNESS.md, beacon path).

`/{chain}/info` gives genesis_time and period (round timing); `/{chain}/public/{round}`
gives a round's signature and randomness. Configured by LOTTERY_BEACON_URL and
LOTTERY_BEACON_CHAIN; without them draws use no beacon.
"""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from lottery import fairness

TIMEOUT_SECONDS = 10


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
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 425):
            raise BeaconRoundNotYet(f"{url}: HTTP {exc.code}") from exc
        raise BeaconError(f"{url}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
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
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BeaconError(f"chain info lacks genesis_time/period: {exc}") from exc
    if info.chain != chain:
        raise BeaconError(f"beacon serves chain {info.chain}, expected {chain}")
    if info.period <= 0:
        raise BeaconError("beacon period must be positive")
    return info


def fetch_round(*, source: str, chain: str, round_number: int) -> BeaconRound:
    """Round `round_number`, checked: the right round, and randomness == SHA-256(signature)."""
    body = _get_json(f"{source.rstrip('/')}/{chain}/public/{round_number}")
    try:
        result = BeaconRound(
            round=int(body["round"]),
            randomness=str(body["randomness"]).lower(),
            signature=str(body["signature"]).lower(),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BeaconError(f"round {round_number}: malformed answer: {exc}") from exc
    if result.round != round_number:
        raise BeaconError(f"asked for round {round_number}, got round {result.round}")
    if not fairness.beacon_randomness_valid(signature_hex=result.signature, randomness_hex=result.randomness):
        raise BeaconError(f"round {round_number}: randomness is not SHA-256 of the signature; rejected")
    return result
