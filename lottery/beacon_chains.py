"""The randomness beacon chains a verifier trusts, and the check of a round's signature.

A proof names its beacon chain, but that is the operator's claim: an operator running its own
"beacon" could sign whatever round makes the winner it wants. So a verifier takes a chain's
parameters only from here (the League of Entropy's public drand chains, with the values
drand documents) or from a chain the person verifying names explicitly (docs/beacon.md).

Standard library only; the BLS signature check imports py_ecc when it runs, and without it a
signature is "not verified" (a failed check, never a pass).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"(?:[0-9a-f]{2})+")
_SCHEME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
# HASH:PUBKEY:GENESIS:PERIOD:SCHEME, as `lottery verify --trust-chain` takes it inline.
_SPEC = re.compile(r"([0-9a-f]{64}):((?:[0-9a-f]{2})+):([0-9]{1,12}):([0-9]{1,6}):([a-z0-9-]+)")

CHAINED = "pedersen-bls-chained"
# drand's schemes (drand/drand crypto/schemes.go): where the signature lives, and the hash-to-curve
# domain separation tag. Chained rounds sign SHA-256(previous signature || round), unchained ones
# SHA-256(round), the round as 8 bytes big-endian.
_G2_SIGNATURES = {
    CHAINED: b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_",
    "pedersen-bls-unchained": b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_",
}
_G1_SIGNATURES = {"bls-unchained-g1-rfc9380": b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"}
SUPPORTED_SCHEMES = frozenset(_G2_SIGNATURES) | frozenset(_G1_SIGNATURES)


@dataclass(frozen=True)
class TrustedChain:
    """A drand chain's parameters, as its `/info` gives them (`hash`, `public_key`, …)."""

    name: str
    hash: str
    public_key: str
    genesis_time: int
    period: int
    scheme: str

    def __post_init__(self) -> None:
        if not isinstance(self.hash, str) or not _HEX64.fullmatch(self.hash):
            raise ValueError(f"chain hash must be 64 lowercase hex digits: {self.hash!r}")
        if not isinstance(self.public_key, str) or not _HEX.fullmatch(self.public_key):
            raise ValueError("public key must be lowercase hex")
        if type(self.genesis_time) is not int or self.genesis_time < 0:
            raise ValueError(f"genesis time must be a non-negative integer: {self.genesis_time!r}")
        if type(self.period) is not int or self.period <= 0:
            raise ValueError(f"period must be a positive integer: {self.period!r}")
        if not isinstance(self.scheme, str) or not _SCHEME.fullmatch(self.scheme):
            raise ValueError(f"not a drand scheme name: {self.scheme!r}")

    @property
    def chained(self) -> bool:
        return self.scheme == CHAINED

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# The League of Entropy's public drand chains (mainnet).
SHIPPED_CHAINS: tuple[TrustedChain, ...] = (
    # "default": hash from drand's docs, "Public endpoints" (docs.drand.love, 3.4 drand HTTP API:
    # "the League of Entropy default chain running at a 30s frequency in chained mode");
    # public_key, period and genesis_time from the same docs' `/info` example
    # (drand.love/developer/http-api); scheme as drand's own test verifies this key's rounds
    # (drand/drand crypto/schemes_test.go, TestVerifyBeacon, "pedersen-bls-chained").
    TrustedChain(
        name="default",
        hash="8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce",
        public_key=(
            "868f005eb8e6e4ca0a47c8a77ceaa5309a47978a7c71bc5cce96366b5d7a569937c529eeda66c7293784a9402801af31"
        ),
        genesis_time=1595431050,
        period=30,
        scheme=CHAINED,
    ),
    # "quicknet": every field from drand's timelock library, drand/tlock-js
    # src/drand/defaults.ts (MAINNET_CHAIN_INFO, beaconID "quicknet"); the hash is also in
    # drand's docs, "Public endpoints" ("quicknet network running at a 3s frequency in
    # unchained mode").
    TrustedChain(
        name="quicknet",
        hash="52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
        public_key=(
            "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510"
            "d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"
        ),
        genesis_time=1692803367,
        period=3,
        scheme="bls-unchained-g1-rfc9380",
    ),
    # "evmnet": from drand's JavaScript client, drand/drand-client
    # test/beacon-verification.test.ts ("signatures on BN254 G1", beaconID "evmnet"). Its BN254
    # signatures (keccak-256 hash to curve) cannot be checked here: a draw on it fails the
    # beacon check as "not verified" (docs/beacon.md).
    TrustedChain(
        name="evmnet",
        hash="04f1e9062b8a81f848fded9c12306733282b2727ecced50032187751166ec8c3",
        public_key=(
            "07e1d1d335df83fa98462005690372c643340060d205306a9aa8106b6bd0b382"
            "0557ec32c2ad488e4d4f6008f89a346f18492092ccc0d594610de2732c8b808f"
            "0095685ae3a85ba243747b1b2f426049010f6b73a0cf1d389351d5aaaa1047f6"
            "297d3a4f9749b33eb2d904c9d9ebf17224150ddd7abd7567a9bec6c74480ee0b"
        ),
        genesis_time=1727521075,
        period=3,
        scheme="bls-bn254-unchained-on-g1",
    ),
)


def shipped_chain(chain_hash: str) -> TrustedChain | None:
    return next((c for c in SHIPPED_CHAINS if c.hash == chain_hash), None)


def trusted_chains(extra: Iterable[TrustedChain] = ()) -> dict[str, TrustedChain]:
    """The shipped chains plus ``extra`` (named by the person verifying), by chain hash.

    A chain named explicitly with a shipped chain's hash but other parameters is refused: it
    would silently replace a key drand documents.
    """
    chains = {c.hash: c for c in SHIPPED_CHAINS}
    for chain in extra:
        known = chains.get(chain.hash)
        if known is not None and _parameters(known) != _parameters(chain):
            raise ValueError(f"chain {chain.hash} is already trusted ({known.name}) with other parameters")
        chains.setdefault(chain.hash, chain)
    return chains


def _parameters(chain: TrustedChain) -> tuple[object, ...]:
    return (chain.public_key, chain.genesis_time, chain.period, chain.scheme)


def chain_from_info(info: Mapping[str, Any], *, name: str = "") -> TrustedChain:
    """A chain from drand's `/info` JSON (``hash``, ``public_key``, ``genesis_time``, ``period``,
    ``schemeID``); raises ValueError when a field is missing or malformed."""
    try:
        beacon_id = (
            info.get("metadata", {}).get("beaconID") if isinstance(info.get("metadata"), dict) else None
        )
        return TrustedChain(
            name=name or (beacon_id if isinstance(beacon_id, str) else "") or "named explicitly",
            hash=info["hash"],
            public_key=info["public_key"],
            genesis_time=info["genesis_time"],
            period=info["period"],
            scheme=info["schemeID"],
        )
    except KeyError as exc:
        raise ValueError(f"chain info lacks {exc.args[0]!r}") from exc


def chain_from_spec(spec: str) -> TrustedChain:
    """A chain from ``HASH:PUBKEY:GENESIS:PERIOD:SCHEME``; raises ValueError if malformed."""
    match = _SPEC.fullmatch(spec.strip())
    if match is None:
        raise ValueError("expected HASH:PUBKEY:GENESIS:PERIOD:SCHEME (lowercase hex, whole seconds)")
    chain_hash, public_key, genesis, period, scheme = match.groups()
    return TrustedChain(
        name="named explicitly",
        hash=chain_hash,
        public_key=public_key,
        genesis_time=int(genesis),
        period=int(period),
        scheme=scheme,
    )


# --- the round's signature -----------------------------------------------------------------


class SignatureUnverifiable(Exception):
    """The signature could not be checked at all (scheme, library or input missing)."""


def round_message(*, round_number: int, previous_signature: bytes = b"") -> bytes:
    """What a drand round signs: SHA-256(previous signature || round as 8 bytes big-endian)."""
    return hashlib.sha256(previous_signature + round_number.to_bytes(8, "big")).digest()


def signature_valid(
    chain: TrustedChain, *, round_number: int, signature: bytes, previous_signature: bytes | None = None
) -> bool:
    """Whether ``signature`` is round ``round_number`` of ``chain``, signed with its public key.

    Raises SignatureUnverifiable when it cannot tell: a scheme not supported here, no py_ecc,
    or a chained round without its previous signature.
    """
    if chain.scheme not in SUPPORTED_SCHEMES:
        raise SignatureUnverifiable(f"scheme {chain.scheme} is not supported here")
    if not 0 <= round_number < 2**64:
        return False
    prefix = b""
    if chain.chained:
        if previous_signature is None:
            raise SignatureUnverifiable("the chained scheme also signs the previous round's signature")
        prefix = previous_signature
    message = round_message(round_number=round_number, previous_signature=prefix)
    return _bls_valid(chain.scheme, bytes.fromhex(chain.public_key), message, signature)


@functools.lru_cache(maxsize=256)
def _bls_valid(scheme: str, public_key: bytes, message: bytes, signature: bytes) -> bool:
    # A pure function of its arguments, and a pairing costs ~0.2 s in pure Python: cached.
    try:
        if scheme in _G2_SIGNATURES:
            from py_ecc.bls import G2Basic

            return bool(G2Basic.Verify(public_key, message, signature))  # type: ignore[arg-type]
        return _g1_signature_valid(public_key, message, signature, _G1_SIGNATURES[scheme])
    except ImportError as exc:
        raise SignatureUnverifiable("no BLS library installed (pip install py_ecc)") from exc


def _g1_signature_valid(public_key: bytes, message: bytes, signature: bytes, dst: bytes) -> bool:
    """A signature on G1 under a public key on G2: e(signature, g2) == e(H(message), key)."""
    from py_ecc.bls.g2_primitives import subgroup_check
    from py_ecc.bls.hash import os2ip
    from py_ecc.bls.hash_to_curve import hash_to_G1
    from py_ecc.bls.point_compression import decompress_G1, decompress_G2
    from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
    from py_ecc.optimized_bls12_381.optimized_curve import G2, is_inf, neg
    from py_ecc.optimized_bls12_381.optimized_pairing import final_exponentiate, pairing

    if len(signature) != 48 or len(public_key) != 96:
        return False
    try:
        sig_point = decompress_G1(os2ip(signature))  # type: ignore[arg-type]
        key_point = decompress_G2((os2ip(public_key[:48]), os2ip(public_key[48:])))  # type: ignore[arg-type]
    except (ValueError, AssertionError):
        return False
    # The point at infinity would "verify" anything.
    if (
        is_inf(sig_point)
        or is_inf(key_point)
        or not subgroup_check(sig_point)
        or not subgroup_check(key_point)
    ):
        return False
    hashed = hash_to_G1(message, dst, hashlib.sha256)  # type: ignore[arg-type]
    product = pairing(G2, sig_point, final_exponentiate=False) * pairing(
        neg(key_point), hashed, final_exponentiate=False
    )
    return bool(final_exponentiate(product) == FQ12.one())
