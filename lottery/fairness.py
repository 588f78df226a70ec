"""Verifiable draws, algorithm ``lottery-draw-v1`` (specified in docs/fairness.md).

Standard library only, so anyone can audit or re-implement it; no Django import.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import itertools
import operator
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ALGORITHM = "lottery-draw-v1"
SEED_BYTES = 32

_COMMIT_PREFIX = f"{ALGORITHM}|commit|".encode()
_ENCODE_BATCH = 65_536
_ALLOWED_BYTES = b"0123456789\n"
# Bytes of whole lines checked at once while ballots.txt downloads.
_CHECK_BATCH = 1 << 19
# Rounds of the drawing loop between two looks at the clock, when it has a deadline.
_CLOCK_EVERY = 4096


def new_seed() -> bytes:
    """Return a fresh secret seed from the OS CSPRNG."""
    return secrets.token_bytes(SEED_BYTES)


def _check_seed(seed: bytes) -> None:
    if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
        raise ValueError(f"seed must be exactly {SEED_BYTES} bytes")


def commitment(*, date: str, seed: bytes) -> str:
    """Return the published commitment to ``seed`` for the draw of ``date``."""
    _check_seed(seed)
    return hashlib.sha256(_COMMIT_PREFIX + date.encode() + b"|" + seed).hexdigest()


# --- ballots.txt -------------------------------------------------------------


def _encode_ids(ids: Sequence[int], previous: int) -> bytes:
    """Encode ids as ballots.txt lines, checking they are positive and ascend past ``previous``."""
    if not ids:
        return b""
    if ids[0] < 1:
        raise ValueError("ballot ids must be positive")
    if ids[0] <= previous or not all(map(operator.lt, ids, itertools.islice(ids, 1, None))):
        raise ValueError("ballot ids must be strictly ascending")
    # One %-format over the batch is ~3x faster than joining str(id) for each id.
    return (b"%d\n" * len(ids)) % tuple(ids)


def _batches(ids: Iterable[int]) -> Iterable[list[int]]:
    iterator = iter(ids)
    while batch := list(itertools.islice(iterator, _ENCODE_BATCH)):
        yield batch


class BallotDigest:
    """Incremental SHA-256 of ballots.txt, fed either raw bytes or ids."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._count = 0
        self._last_id = 0

    def update_bytes(self, chunk: bytes) -> None:
        """Feed raw ballots.txt bytes (e.g. PostgreSQL ``COPY ... TO STDOUT`` output)."""
        self._hash.update(chunk)
        self._count += chunk.count(b"\n")

    def update_ids(self, ids: Iterable[int]) -> None:
        """Feed ballot ids, which must continue the strictly ascending sequence."""
        for batch in _batches(ids):
            self._hash.update(_encode_ids(batch, self._last_id))
            self._count += len(batch)
            self._last_id = batch[-1]

    @property
    def count(self) -> int:
        """Number of ballots (lines) fed so far."""
        return self._count

    def hexdigest(self) -> str:
        """Lowercase hex SHA-256 of everything fed so far."""
        return self._hash.hexdigest()


def ballots_txt(ids: Iterable[int]) -> bytes:
    """Return the canonical ballots.txt bytes for strictly ascending positive ids."""
    parts: list[bytes] = []
    last = 0
    for batch in _batches(ids):
        parts.append(_encode_ids(batch, last))
        last = batch[-1]
    return b"".join(parts)


def _first_defect(data: bytes, start: int, number: int, previous: int) -> str:
    """Describe the first non-canonical line of ``data`` (slow; only used to explain errors).

    The lines before byte ``start`` are known to be canonical: ``number`` is the number of the
    line at ``start`` and ``previous`` the id before it. Lines are read one at a time up to the
    defect, so a hostile list costs no more memory than its bytes.
    """
    while start < len(data):
        end = data.find(b"\n", start)
        if end < 0:
            return f"line {number}: missing final newline"
        line = data[start:end]
        if not line:
            return f"line {number}: blank line"
        if line.translate(None, b"0123456789"):
            return f"line {number}: {line[:40]!r} is not a plain decimal id"
        if line.startswith(b"0"):
            return f"line {number}: {line[:40]!r} is zero or has a leading zero"
        try:
            value = int(line)
        except ValueError:
            return f"line {number}: id has more digits than int() accepts"
        if value <= previous:
            return f"line {number}: {value} does not ascend strictly after {previous}"
        start, number, previous = end + 1, number + 1, value
    return "not canonical"


def _run_ascends(run: bytes) -> bool:
    """Whether each line of ``run`` (lines of one width, each ending in a newline) is larger
    than the line before. Lines of one width compare like their bytes; the comparisons run
    in C (``map`` over ``bytes.__lt__``), about 0.15 s per million lines."""
    lines = run.split(b"\n")[:-1]
    return all(map(bytes.__lt__, lines, lines[1:]))


# A run of lines of one width: (position of its first line in the list, byte offset of that
# line, width, number of lines).
_Run = tuple[int, int, int, int]


def _runs(lines: bytes, first: int, offset: int) -> list[_Run] | None:
    """Split ``lines`` into runs of one width; None unless they are canonical ballots.txt lines.

    ``lines`` holds whole lines of digits (the caller checked that much). Each line must be a
    positive decimal without a leading zero, so a wider line is a larger id: widths must grow
    from one run to the next, and each run must ascend within itself. ``first`` and ``offset``
    place ``lines`` (its first line's position and byte offset) in the whole list.
    """
    runs: list[_Run] = []
    start, width_before = 0, 0
    while start < len(lines):
        width = lines.index(b"\n", start) - start
        if width <= width_before:
            return None  # a blank line, or narrower than the line before: a smaller id
        ends = lines[start + width :: width + 1]  # where lines of this width would end
        count = len(ends) - len(ends.lstrip(b"\n"))
        stop = start + count * (width + 1)
        run = lines[start:stop]
        if run.count(b"\n") != count:
            return None  # a narrower line within the run: a smaller id, or a blank line
        if b"0" in run[:: width + 1]:
            return None  # a first digit 0: zero or a leading zero
        if not _run_ascends(run):
            return None
        try:
            int(run[:width])
        except ValueError:  # more digits than int() accepts: refused, as by every parser here
            return None
        runs.append((first, offset + start, width, count))
        first += count
        start, width_before = stop, width
    return runs


class BallotsTxt:
    """ballots.txt as read: its bytes, SHA-256 and line count, and whether it is canonical."""

    def __init__(self, data: bytes, digest: str, runs: list[_Run] | None, defect: str) -> None:
        self.data = data
        self.digest = digest
        self.count = data.count(b"\n")
        self.canonical = runs is not None
        self.defect = defect
        self._runs = runs or []
        self._firsts = [run[0] for run in self._runs]

    def id_at(self, position: int) -> int:
        """The id at ``position`` (0-based) in a canonical list, read from its line."""
        if not self.canonical or not 0 <= position < self.count:
            raise IndexError(f"no ballot at position {position}")
        first, offset, width, _ = self._runs[bisect.bisect_right(self._firsts, position) - 1]
        start = offset + (position - first) * (width + 1)
        return int(self.data[start : start + width])


class BallotsTxtReader:
    """Read ballots.txt chunk by chunk as it downloads: hashing and checking overlap the transfer.

    ``close()`` gives the same result whatever the chunks, as ``read_ballots_txt`` of the whole.
    """

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._chunks: list[bytes] = []
        self._pending: list[bytes] = []  # fed but not yet checked
        self._pending_size = 0
        self._check_at = _CHECK_BATCH  # pending size that triggers the next check
        self._checked_bytes = 0
        self._checked_lines = 0
        self._last_line = b""
        self._runs: list[_Run] | None = []  # None once a defect is found

    def feed(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self._chunks.append(chunk)
        # Checked in pieces of about _CHECK_BATCH bytes, whatever the chunk size: the big-integer
        # temporaries of a piece stay in the CPU cache and in memory that is reused.
        for start in range(0, len(chunk), _CHECK_BATCH):
            if self._runs is None:
                return
            piece = chunk[start : start + _CHECK_BATCH]
            self._pending.append(piece)
            self._pending_size += len(piece)
            if self._pending_size >= self._check_at:
                self._check_pending(final=False)

    def close(self) -> BallotsTxt:
        if self._runs is not None:
            self._check_pending(final=True)
        data = b"".join(self._chunks)
        defect = ""
        if self._runs is None:
            # Only a failure is explained line by line (slow), from the first batch that failed.
            previous = int(self._last_line) if self._last_line else 0
            defect = _first_defect(data, self._checked_bytes, self._checked_lines + 1, previous)
        return BallotsTxt(data, self._hash.hexdigest(), self._runs, defect)

    def _check_pending(self, *, final: bool) -> None:
        pending = b"".join(self._pending)
        cut = len(pending) if final else pending.rfind(b"\n") + 1
        self._pending = [pending[cut:]]
        self._pending_size = len(pending) - cut
        # A line longer than a batch waits for twice the bytes, not one more batch: no quadratic join.
        self._check_at = _CHECK_BATCH if cut else 2 * self._pending_size
        if cut:
            self._check(pending[:cut])

    def _check(self, lines: bytes) -> None:
        runs = None
        if lines.endswith(b"\n") and not lines.translate(None, _ALLOWED_BYTES):
            head, last = lines[: lines.index(b"\n")], self._last_line
            if (len(last), last) < (len(head), head):  # equal widths compare like numbers
                runs = _runs(lines, self._checked_lines, self._checked_bytes)
        if self._runs is None or runs is None:
            self._runs, self._pending = None, []
            return
        self._runs.extend(runs)
        self._checked_bytes += len(lines)
        self._checked_lines += sum(run[3] for run in runs)
        self._last_line = lines[lines.rfind(b"\n", 0, -1) + 1 : -1]


def read_ballots_txt(data: bytes) -> BallotsTxt:
    """Hash and check whole ballots.txt bytes (see ``BallotsTxtReader``)."""
    reader = BallotsTxtReader()
    reader.feed(data)
    return reader.close()


def parse_ballots_txt(data: bytes) -> list[int]:
    """Return the ids of canonical ballots.txt bytes; raise ``ValueError`` on any deviation."""
    ballots = read_ballots_txt(data)
    if not ballots.canonical:
        raise ValueError(f"ballots.txt is not canonical: {ballots.defect}")
    return list(map(int, data.split()))


# --- drawing -----------------------------------------------------------------


@dataclass(frozen=True)
class PrizeSlot:
    slot: int
    prize_rank: int


@dataclass(frozen=True)
class Pick:
    slot: int
    prize_rank: int
    index: int
    counter: int


@dataclass(frozen=True)
class Winner:
    slot: int
    prize_rank: int
    ballot_id: int
    index: int
    counter: int


def _whole_number(prize: Mapping[str, Any], key: str) -> int:
    value = prize[key]
    if type(value) is not int:
        raise ValueError(f"prize {key} must be an integer, got {value!r}")
    return value


def prize_slots(prizes: Iterable[Mapping[str, Any]]) -> list[PrizeSlot]:
    """Expand a prize table into slots: by rank ascending, each prize ``count`` times."""
    table = [(_whole_number(p, "rank"), _whole_number(p, "count")) for p in prizes]
    if any(count < 0 for _, count in table):
        raise ValueError("prize count must not be negative")
    if len({rank for rank, _ in table}) != len(table):
        # Winners name only their prize_rank: two prizes of one rank would leave it to the
        # operator which winner gets which.
        raise ValueError("prize ranks must be unique")
    ranks = [rank for rank, count in sorted(table) for _ in range(count)]
    return [PrizeSlot(slot=j, prize_rank=rank) for j, rank in enumerate(ranks)]


def pick_indices(
    *,
    seed: bytes,
    date: str,
    ballot_digest: str,
    beacon: str,
    ballot_count: int,
    slots: Sequence[PrizeSlot],
    deadline: float | None = None,
) -> list[Pick]:
    """Run the drawing loop; return the winning positions in the ballot list, in slot order.

    Ballot ids are distinct, so "ballot already won" is "index already picked": the
    caller maps each index to its ballot id without holding the whole list. A verifier
    re-running a hostile draw (about as many slots as ballots makes the loop long) passes a
    ``deadline`` (a ``time.monotonic()`` value): past it the loop raises TimeoutError.
    """
    _check_seed(seed)
    if ballot_count < 0:
        raise ValueError("ballot_count must not be negative")
    n = ballot_count
    if n == 0:
        return []
    limit = (2**256 // n) * n
    prefix = hmac.new(seed, digestmod=hashlib.sha256)
    prefix.update(f"{ALGORITHM}|{date}|{ballot_digest}|{beacon}|".encode())

    picked: set[int] = set()
    picks: list[Pick] = []
    counter = 0
    for slot in slots:
        if len(picked) >= n:
            break  # every ballot has won; the remaining slots stay unawarded
        while True:
            this_counter = counter
            counter += 1
            if deadline is not None and not counter % _CLOCK_EVERY and time.monotonic() >= deadline:
                raise TimeoutError(f"the drawing loop passed its deadline at counter {this_counter}")
            mac = prefix.copy()
            mac.update(str(this_counter).encode())
            x = int.from_bytes(mac.digest(), "big")
            if x >= limit:
                continue  # rejection sampling: no modulo bias
            index = x % n
            if index not in picked:
                break
        picked.add(index)
        picks.append(Pick(slot.slot, slot.prize_rank, index, this_counter))
    return picks


def draw_winners(
    *,
    seed: bytes,
    date: str,
    ballot_ids: Sequence[int],
    beacon: str,
    prizes: Iterable[Mapping[str, Any]],
) -> list[Winner]:
    """Draw the winners of a whole ballot list (tests and verifiers; the server uses indices)."""
    digest = BallotDigest()
    digest.update_ids(ballot_ids)
    picks = pick_indices(
        seed=seed,
        date=date,
        ballot_digest=digest.hexdigest(),
        beacon=beacon,
        ballot_count=digest.count,
        slots=prize_slots(prizes),
    )
    return [Winner(p.slot, p.prize_rank, ballot_ids[p.index], p.index, p.counter) for p in picks]


# --- beacon round timing (drand: round r is due at genesis_time + (r - 1) * period) ----------

BEACON_DELAY_SECONDS = 30


def beacon_round_due(*, genesis_time: int, period: int, round_number: int) -> int:
    """Unix time at which beacon round `round_number` is due."""
    return genesis_time + (round_number - 1) * period


def beacon_planned_round(*, genesis_time: int, period: int, closes_at: int) -> int:
    """The first round due at least BEACON_DELAY_SECONDS after `closes_at` (unix seconds)."""
    if period <= 0:
        raise ValueError("beacon period must be positive")
    earliest = closes_at + BEACON_DELAY_SECONDS
    if earliest <= genesis_time:
        return 1
    return -(-(earliest - genesis_time) // period) + 1


def beacon_randomness_valid(*, signature_hex: str, randomness_hex: str) -> bool:
    """drand publishes randomness = SHA-256(signature)."""
    try:
        return hashlib.sha256(bytes.fromhex(signature_hex)).hexdigest() == randomness_hex
    except ValueError:
        return False
