"""Fairness properties that tests/test_fairness.py does not already pin down (P6).

tests/test_fairness.py covers: chi-square uniformity of the first pick over n = 5 and of
ordered pairs over 5 ballots; distinct, in-range picks for one-rank slot lists (hypothesis);
one worked example of more slots than ballots. Added here, and only this:

- uniformity over other small n (2, 3, 7: n = 3 and 7 are not powers of two, so rejection
  sampling is what keeps them unbiased) and of the *last* pick, which must be uniform over
  the ballots still left;
- the whole-draw properties of `draw_winners` over arbitrary multi-rank prize tables and
  ballot ids (hypothesis), including more slots than ballots.
"""

import hashlib
import itertools
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery import fairness
from lottery.fairness import PrizeSlot

# Chi-square critical values at p = 0.001 for df = 1, 2, 6 (standard table).
CHI2_P001 = {1: 10.828, 2: 13.816, 6: 22.458}
TRIALS = 3000


def seed_for(i: int) -> bytes:
    return hashlib.sha256(f"fairness-properties {i}".encode()).digest()


def picks(n: int, slots: int, seed: bytes) -> list[fairness.Pick]:
    return fairness.pick_indices(
        seed=seed,
        date="2026-06-10",
        ballot_digest="cd" * 32,
        beacon="",
        ballot_count=n,
        slots=[PrizeSlot(slot=j, prize_rank=1) for j in range(slots)],
    )


def chi_square(counts: Counter[int], categories: int, total: int) -> float:
    expected = total / categories
    return sum((counts.get(c, 0) - expected) ** 2 / expected for c in range(categories))


@pytest.mark.parametrize("n", [2, 3, 7])
def test_first_pick_is_uniform_over_small_n(n: int) -> None:
    counts = Counter(picks(n, 1, seed_for(i))[0].index for i in range(TRIALS))
    assert set(counts) == set(range(n))
    assert chi_square(counts, n, TRIALS) < CHI2_P001[n - 1]


@pytest.mark.parametrize("n", [3, 7])
def test_the_last_pick_is_uniform_over_the_ballots_left(n: int) -> None:
    """With n - 1 slots, the one ballot that does not win is uniform over all n."""
    counts: Counter[int] = Counter()
    for i in range(TRIALS):
        won = {p.index for p in picks(n, n - 1, seed_for(i))}
        [loser] = set(range(n)) - won
        counts[loser] += 1
    assert chi_square(counts, n, TRIALS) < CHI2_P001[n - 1]


prize_tables = st.lists(
    st.tuples(st.integers(1, 9), st.integers(0, 6)),  # (rank, count)
    max_size=5,
    unique_by=lambda t: t[0],
).map(lambda rows: [{"rank": r, "name": f"Prize {r}", "amount": 100 * r, "count": c} for r, c in rows])
ballot_lists = st.lists(st.integers(1, 10**9), unique=True, max_size=25).map(sorted)


@settings(max_examples=150, deadline=None)
@given(
    ids=ballot_lists,
    prizes=prize_tables,
    seed=st.binary(min_size=32, max_size=32),
    beacon=st.sampled_from(["", "0f" * 32]),
)
def test_draw_winners_over_any_prize_table(
    ids: list[int], prizes: list[dict[str, Any]], seed: bytes, beacon: str
) -> None:
    winners = fairness.draw_winners(
        seed=seed, date="2026-06-10", ballot_ids=ids, beacon=beacon, prizes=prizes
    )
    slots = fairness.prize_slots(prizes)
    # distinct winners, each a real ballot at the index it claims
    assert len({w.ballot_id for w in winners}) == len(winners)
    assert all(ids[w.index] == w.ballot_id for w in winners)
    # the top slots are filled first; more slots than ballots: every ballot wins exactly once
    assert len(winners) == min(len(ids), len(slots))
    assert [(w.slot, w.prize_rank) for w in winners] == [
        (s.slot, s.prize_rank) for s in slots[: len(winners)]
    ]
    if len(slots) >= len(ids):
        assert sorted(w.ballot_id for w in winners) == ids
    # counters strictly increase: one counter runs through the whole draw
    assert all(a.counter < b.counter for a, b in itertools.pairwise(winners))
    # and the result is a pure function of the published inputs
    again = fairness.draw_winners(seed=seed, date="2026-06-10", ballot_ids=ids, beacon=beacon, prizes=prizes)
    assert again == winners
