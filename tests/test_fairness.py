import hashlib
import hmac
import itertools
import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery import fairness
from lottery.fairness import BallotDigest, PrizeSlot

VECTORS = json.loads((Path(__file__).parent / "data" / "fairness-vectors.json").read_text())
CASES = VECTORS["cases"]
PRIZES = [{"rank": 1, "count": 1}, {"rank": 2, "count": 5}]
SEED = bytes(range(32))


def case_ids(case: dict[str, Any]) -> list[int]:
    ids = case["ballot_ids"]
    if isinstance(ids, dict):  # large cases give an inclusive range instead of a list
        first, last = ids["range"]
        return list(range(first, last + 1))
    return list(ids)


def slots_of(count: int) -> list[PrizeSlot]:
    return [PrizeSlot(slot=j, prize_rank=1) for j in range(count)]


def picks_for(n: int, slots: int, seed: bytes = SEED, beacon: str = "") -> list[fairness.Pick]:
    return fairness.pick_indices(
        seed=seed,
        date="2026-11-23",
        ballot_digest="ab" * 32,
        beacon=beacon,
        ballot_count=n,
        slots=slots_of(slots),
    )


# --- golden vectors ----------------------------------------------------------


def test_vectors_are_for_this_algorithm() -> None:
    assert VECTORS["algorithm"] == fairness.ALGORITHM == "lottery-draw-v1"
    assert len(CASES) >= 6


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_commitment_matches_golden_vector(case: dict[str, Any]) -> None:
    seed = bytes.fromhex(case["seed"])
    assert fairness.commitment(date=case["date"], seed=seed) == case["commitment"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_ballot_digest_matches_golden_vector_from_ids_and_bytes(case: dict[str, Any]) -> None:
    ids = case_ids(case)
    from_ids, from_bytes = BallotDigest(), BallotDigest()
    from_ids.update_ids(ids)
    from_bytes.update_bytes(fairness.ballots_txt(ids))
    assert from_ids.hexdigest() == from_bytes.hexdigest() == case["ballot_digest"]
    assert from_ids.count == from_bytes.count == len(ids)
    assert hashlib.sha256(fairness.ballots_txt(ids)).hexdigest() == case["ballot_digest"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_winners_match_golden_vector(case: dict[str, Any]) -> None:
    winners = fairness.draw_winners(
        seed=bytes.fromhex(case["seed"]),
        date=case["date"],
        ballot_ids=case_ids(case),
        beacon=case["beacon"],
        prizes=case["prizes"],
    )
    assert [asdict(w) for w in winners] == case["winners"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_pick_indices_match_golden_vector_without_the_ballot_list(case: dict[str, Any]) -> None:
    picks = fairness.pick_indices(
        seed=bytes.fromhex(case["seed"]),
        date=case["date"],
        ballot_digest=case["ballot_digest"],
        beacon=case["beacon"],
        ballot_count=len(case_ids(case)),
        slots=fairness.prize_slots(case["prizes"]),
    )
    expected = [(w["slot"], w["prize_rank"], w["index"], w["counter"]) for w in case["winners"]]
    assert [(p.slot, p.prize_rank, p.index, p.counter) for p in picks] == expected


# --- seed and commitment -----------------------------------------------------


def test_new_seed_is_32_fresh_random_bytes() -> None:
    seeds = {fairness.new_seed() for _ in range(8)}
    assert len(seeds) == 8
    assert all(len(s) == fairness.SEED_BYTES == 32 for s in seeds)


def test_commitment_is_sha256_of_prefix_date_and_raw_seed() -> None:
    expected = hashlib.sha256(b"lottery-draw-v1|commit|2026-11-23|" + SEED).hexdigest()
    assert fairness.commitment(date="2026-11-23", seed=SEED) == expected


@pytest.mark.parametrize("seed", [b"", bytes(31), bytes(33)])
def test_seed_of_wrong_length_is_refused(seed: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        fairness.commitment(date="2026-11-23", seed=seed)
    with pytest.raises(ValueError, match="32 bytes"):
        picks_for(3, 1, seed=seed)


# --- ballots.txt and its digest ------------------------------------------------


def test_ballots_txt_is_each_id_in_decimal_then_newline() -> None:
    assert fairness.ballots_txt([]) == b""
    assert fairness.ballots_txt([3, 7, 11, 1000]) == b"3\n7\n11\n1000\n"
    assert fairness.ballots_txt(iter(range(1, 4))) == b"1\n2\n3\n"


def test_digest_of_empty_list_is_sha256_of_nothing() -> None:
    digest = BallotDigest()
    assert digest.count == 0
    assert digest.hexdigest() == hashlib.sha256(b"").hexdigest()


def test_digest_fed_bytes_split_at_every_boundary_equals_digest_of_whole() -> None:
    data = fairness.ballots_txt([1, 22, 333, 4444, 55555])
    expected = hashlib.sha256(data).hexdigest()
    for cut in range(len(data) + 1):
        digest = BallotDigest()
        digest.update_bytes(data[:cut])
        digest.update_bytes(data[cut:])
        assert (digest.hexdigest(), digest.count) == (expected, 5)


@given(
    ids=st.lists(st.integers(1, 10**12), unique=True, max_size=200).map(sorted),
    cuts=st.lists(st.integers(0, 3000), max_size=10),
)
def test_digest_fed_arbitrary_chunks_or_id_batches_equals_ballots_txt_digest(
    ids: list[int], cuts: list[int]
) -> None:
    data = fairness.ballots_txt(ids)
    by_bytes, by_ids = BallotDigest(), BallotDigest()
    bounds = [0, *sorted(c for c in cuts if c < len(data)), len(data)]
    for start, end in itertools.pairwise(bounds):
        by_bytes.update_bytes(data[start:end])
    id_bounds = [0, *sorted(c for c in cuts if c < len(ids)), len(ids)]
    for start, end in itertools.pairwise(id_bounds):
        by_ids.update_ids(ids[start:end])
    expected = hashlib.sha256(data).hexdigest()
    assert by_bytes.hexdigest() == by_ids.hexdigest() == expected
    assert by_bytes.count == by_ids.count == len(ids)


def test_digest_over_more_ids_than_one_encoding_batch() -> None:
    ids = range(1, 200_001)
    digest = BallotDigest()
    digest.update_ids(ids)
    assert digest.count == 200_000
    assert digest.hexdigest() == hashlib.sha256(fairness.ballots_txt(ids)).hexdigest()


@pytest.mark.parametrize(
    ("batches", "message"),
    [
        ([[0]], "positive"),
        ([[-5, 1]], "positive"),
        ([[1, 1]], "ascending"),
        ([[2, 1]], "ascending"),
        ([[1, 5], [5, 6]], "ascending"),
        ([[1, 5], [4]], "ascending"),
    ],
)
def test_non_canonical_ids_are_refused_when_digesting(
    batches: list[list[int]],
    message: str,
) -> None:
    digest = BallotDigest()
    with pytest.raises(ValueError, match=message):
        for batch in batches:
            digest.update_ids(batch)
    with pytest.raises(ValueError, match=message):
        fairness.ballots_txt([i for batch in batches for i in batch])


CANONICAL = [b"", b"1\n", b"1\n2\n3\n", b"7\n10\n99\n100\n123456789012345678901\n"]
NON_CANONICAL = {
    "leading zero": b"1\n02\n",
    "plus sign": b"+5\n",
    "zero": b"0\n",
    "negative": b"-3\n4\n",
    "duplicate": b"1\n2\n2\n",
    "descending": b"2\n1\n",
    "numeric but not ascending": b"9\n10\n9\n",
    "missing final newline": b"1\n2",
    "blank line": b"1\n\n2\n",
    "leading blank line": b"\n1\n",
    "only a newline": b"\n",
    "CRLF": b"1\r\n2\r\n",
    "leading space": b" 1\n",
    "trailing space": b"1 \n",
    "non-digits": b"1\nabc\n",
    "underscore": b"1_000\n",
    "hex": b"0x10\n",
    "non-ASCII digit": "1\n\u0663\n".encode(),
    "NUL byte": b"1\n\x002\n",
    "too many digits for int()": b"9" * 5000 + b"\n",
}


@pytest.mark.parametrize("data", CANONICAL)
def test_parse_accepts_canonical_ballots_txt(data: bytes) -> None:
    ids = fairness.parse_ballots_txt(data)
    assert fairness.ballots_txt(ids) == data


@pytest.mark.parametrize("data", NON_CANONICAL.values(), ids=NON_CANONICAL.keys())
def test_parse_rejects_non_canonical_ballots_txt(data: bytes) -> None:
    with pytest.raises(ValueError, match="not canonical"):
        fairness.parse_ballots_txt(data)


@pytest.mark.parametrize(
    ("data", "explanation"),
    [
        (b"1\n2\n02\n", "line 3: b'02' is zero or has a leading zero"),
        (b"1\n2", "line 2: missing final newline"),
        (b"5\n4\n", "line 2: 4 does not ascend strictly after 5"),
        (b"1\n\n", "line 2: blank line"),
        (b"1\r\n", "line 1: b'1\\r' is not a plain decimal id"),
    ],
)
def test_parse_error_names_the_offending_line(data: bytes, explanation: str) -> None:
    with pytest.raises(ValueError) as error:
        fairness.parse_ballots_txt(data)
    assert explanation in str(error.value)


@given(st.lists(st.integers(1, 10**30), unique=True, max_size=100).map(sorted))
def test_parse_round_trips_any_ascending_ids(ids: list[int]) -> None:
    assert fairness.parse_ballots_txt(fairness.ballots_txt(ids)) == ids


# --- prize slots -------------------------------------------------------------


def test_prize_slots_sort_by_rank_and_repeat_each_prize_count_times() -> None:
    prizes = [
        {"rank": 3, "name": "Small", "count": 2},
        {"rank": 1, "name": "Jackpot", "count": 1},
        {"rank": 2, "name": "None left", "count": 0},
    ]
    assert fairness.prize_slots(prizes) == [
        PrizeSlot(0, 1),
        PrizeSlot(1, 3),
        PrizeSlot(2, 3),
    ]


@pytest.mark.parametrize(
    "prize", [{"rank": 1, "count": -1}, {"rank": 1, "count": "2"}, {"rank": True, "count": 1}]
)
def test_prize_slots_refuse_malformed_prizes(prize: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        fairness.prize_slots([prize])


# --- drawing -----------------------------------------------------------------


def test_draw_without_ballots_has_no_winners() -> None:
    assert picks_for(0, 6) == []
    winners = fairness.draw_winners(
        seed=SEED,
        date="2026-11-23",
        ballot_ids=[],
        beacon="",
        prizes=PRIZES,
    )
    assert winners == []


def test_draw_without_prizes_has_no_winners() -> None:
    assert picks_for(10, 0) == []


def test_more_slots_than_ballots_awards_every_ballot_once_highest_slots_first() -> None:
    ids = [4, 8, 15, 16]
    winners = fairness.draw_winners(
        seed=SEED,
        date="2026-11-23",
        ballot_ids=ids,
        beacon="",
        prizes=[{"rank": 1, "count": 1}, {"rank": 2, "count": 9}],
    )
    assert [w.slot for w in winners] == [0, 1, 2, 3]
    assert [w.prize_rank for w in winners] == [1, 2, 2, 2]
    assert sorted(w.ballot_id for w in winners) == ids
    assert all(ids[w.index] == w.ballot_id for w in winners)


def test_every_ballot_wins_once_when_slots_equal_ballots() -> None:
    picks = picks_for(50, 50)
    assert sorted(p.index for p in picks) == list(range(50))
    counters = [p.counter for p in picks]
    assert counters == sorted(counters)
    assert len(set(counters)) == 50


def test_winners_are_distinct_ballots() -> None:
    picks = picks_for(20, 15)
    assert len({p.index for p in picks}) == 15


def test_beacon_changes_the_result() -> None:
    assert picks_for(10**6, 6) != picks_for(10**6, 6, beacon="ab" * 32)


def test_rejection_sampling_skips_values_at_or_above_limit() -> None:
    # With n = 2**255 + 1 the limit is n itself, so about half of all R(i) are rejected.
    n = 2**255 + 1
    accepted = []
    for counter in range(40):
        message = f"lottery-draw-v1|2026-11-23|{'ab' * 32}||{counter}".encode()
        x = int.from_bytes(hmac.new(SEED, message, hashlib.sha256).digest(), "big")
        if x < n:
            accepted.append((x % n, counter))
    assert len(accepted) < 40  # the test only means something if some were rejected
    picks = picks_for(n, 3)
    assert [(p.index, p.counter) for p in picks] == accepted[:3]


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(0, 40),
    slots=st.integers(0, 40),
    seed=st.binary(min_size=32, max_size=32),
    beacon=st.sampled_from(["", "00" * 32, "ff" * 32]),
)
def test_picks_are_distinct_in_range_and_fill_every_slot_they_can(
    n: int, slots: int, seed: bytes, beacon: str
) -> None:
    picks = picks_for(n, slots, seed=seed, beacon=beacon)
    indices = [p.index for p in picks]
    assert len(set(indices)) == len(indices)
    assert all(0 <= i < n for i in indices)
    assert [p.slot for p in picks] == list(range(min(n, slots)))
    assert [p.counter for p in picks] == sorted({p.counter for p in picks})


# Chi-square critical values at p = 0.001 (df = 4 and df = 19), from the standard table.
CHI2_P001_DF4 = 18.467
CHI2_P001_DF19 = 43.820


def chi_square(observed: Counter[Any], categories: int, total: int) -> float:
    expected = total / categories
    assert len(observed) <= categories
    missing = categories - len(observed)
    return sum((o - expected) ** 2 / expected for o in observed.values()) + missing * expected


def deterministic_seed(i: int) -> bytes:
    return hashlib.sha256(f"chi-square {i}".encode()).digest()


def test_first_prize_index_is_uniform_over_five_ballots() -> None:
    trials = 5000
    counts = Counter(picks_for(5, 1, seed=deterministic_seed(i))[0].index for i in range(trials))
    assert chi_square(counts, 5, trials) < CHI2_P001_DF4


def test_first_two_winners_are_uniform_over_ordered_pairs_of_five_ballots() -> None:
    trials = 6000
    counts = Counter(
        tuple(p.index for p in picks_for(5, 2, seed=deterministic_seed(i))) for i in range(trials)
    )
    assert chi_square(counts, 20, trials) < CHI2_P001_DF19
