"""ballots.txt read as it downloads (fairness.BallotsTxtReader) against a plain line-by-line reading.

The reader checks the canonical form on whole buffers (bytes operations and big-integer
arithmetic); these tests hold it to the obvious per-line definition of docs/fairness.md, whatever the
chunks and batch sizes.
"""

import hashlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery import fairness


def plain_reading(data: bytes) -> list[int] | None:
    """docs/fairness.md's canonical form, line by line: the ids, or None if not canonical."""
    if data and not data.endswith(b"\n"):
        return None
    ids: list[int] = []
    for line in data.split(b"\n")[:-1]:
        # bytes.isdigit() is ASCII digits only.
        if not line.isdigit() or line.startswith(b"0") or len(line) > 4300:
            return None
        if ids and int(line) <= ids[-1]:
            return None
        ids.append(int(line))
    return ids


def read_in_chunks(data: bytes, cuts: list[int]) -> fairness.BallotsTxt:
    reader = fairness.BallotsTxtReader()
    bounds = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    for start, stop in itertools.pairwise(bounds):
        reader.feed(data[start:stop])
    return reader.close()


def assert_reads_like_the_plain_reading(ballots: fairness.BallotsTxt, data: bytes) -> None:
    expected = plain_reading(data)
    assert ballots.data == data
    assert ballots.digest == hashlib.sha256(data).hexdigest()
    assert ballots.count == data.count(b"\n")
    assert ballots.canonical == (expected is not None), data[:200]
    if expected is None:
        assert ballots.defect
        with pytest.raises(IndexError):
            ballots.id_at(0)
    else:
        assert ballots.defect == ""
        assert [ballots.id_at(i) for i in range(ballots.count)] == expected


@pytest.fixture(params=[1, 5, 64, 1 << 19], ids=lambda size: f"batch{size}")
def batch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(fairness, "_CHECK_BATCH", request.param)
    return int(request.param)


def lines(ids: list[int]) -> bytes:
    return "".join(f"{i}\n" for i in ids).encode()


EDGE_CASES = {
    "empty": b"",
    "one id": b"7\n",
    "widths grow": lines([1, 9, 10, 99, 100, 999, 1000, 10**20, 10**20 + 1]),
    "last digit decides": lines([1000, 1001, 1009, 1010]),
    "first digit decides": lines([1999, 2000, 8999, 9000]),
    "duplicate first pair": lines([5, 5, 6]),
    "duplicate last pair": lines([1, 2, 3, 4, 4]),
    "duplicate wide ids": lines([123456789, 123456789]),
    "one step down in a long run": lines([*range(100, 500), 499, *range(500, 900)]),
    "equal widths descend by the most": b"1999\n1000\n",
    "narrower line after a run": b"10\n11\n9\n",
    "narrower line inside a run": b"100\n101\n7\n102\n",
    "narrower line aligned with the run": b"123\n4\n5\n678\n",
    "blank line inside a run": b"10\n\n11\n",
    "leading blank line": b"\n1\n",
    "only a newline": b"\n",
    "zero": b"0\n",
    "leading zero inside a run": b"10\n011\n12\n",
    "leading zero starts a run": b"9\n010\n",
    "missing final newline": b"1\n2",
    "not a digit": b"1\n2a\n3\n",
    "CRLF": b"1\r\n2\r\n",
    "non-ASCII digit": "1\n\u0663\n".encode(),
    "too many digits for int()": b"9" * 5000 + b"\n",
    "a long line split over many batches": b"1\n" + b"2" * 3000 + b"\n" + b"3" * 3001 + b"\n",
}


@pytest.mark.parametrize("data", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_edge_cases_read_like_the_plain_reading(data: bytes, batch: int) -> None:
    assert_reads_like_the_plain_reading(fairness.read_ballots_txt(data), data)
    for size in (1, 2, 3, 7):
        assert_reads_like_the_plain_reading(read_in_chunks(data, list(range(size, len(data), size))), data)


def mutated(ids: list[int], how: int, where: int) -> bytes:
    """Canonical lines with one small defect of kind ``how`` near position ``where``."""
    text = [f"{i}" for i in ids]
    at = where % len(text)
    if how == 0:
        text.insert(at, text[at])  # duplicate
    elif how == 1 and len(text) > 1:
        text[at], text[at - 1] = text[at - 1], text[at]  # swap a pair
    elif how == 2:
        text[at] = "0" + text[at]  # leading zero
    elif how == 3:
        text.insert(at, "")  # blank line
    elif how == 4:
        text[at] = str(int(text[at]) - 1)  # may equal the line before
    return "".join(f"{t}\n" for t in text).encode()


ASCENDING = st.lists(st.integers(1, 10**25), min_size=1, max_size=300, unique=True).map(sorted)
DENSE = st.builds(lambda first, n: list(range(first, first + n)), st.integers(1, 10**6), st.integers(1, 400))


@settings(max_examples=400, deadline=None)
@given(
    ids=ASCENDING | DENSE,
    how=st.integers(0, 5),
    where=st.integers(0, 10**6),
    cuts=st.lists(st.integers(0, 10**5), max_size=8),
    batch_size=st.sampled_from([1, 3, 16, 100, 1 << 19]),
)
def test_reader_matches_the_plain_reading_on_near_canonical_lists(
    ids: list[int], how: int, where: int, cuts: list[int], batch_size: int
) -> None:
    data = mutated(ids, how, where)
    original = fairness._CHECK_BATCH
    fairness._CHECK_BATCH = batch_size
    try:
        assert_reads_like_the_plain_reading(read_in_chunks(data, cuts), data)
    finally:
        fairness._CHECK_BATCH = original


@settings(max_examples=400, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"0", b"1", b"2", b"9", b"\n", b"10", b"\r", b"-"]), max_size=60).map(
        b"".join
    ),
    cuts=st.lists(st.integers(0, 100), max_size=5),
)
def test_reader_matches_the_plain_reading_on_arbitrary_bytes(data: bytes, cuts: list[int]) -> None:
    original = fairness._CHECK_BATCH
    fairness._CHECK_BATCH = 4
    try:
        assert_reads_like_the_plain_reading(read_in_chunks(data, cuts), data)
    finally:
        fairness._CHECK_BATCH = original


def test_a_million_ids_are_read_with_their_positions() -> None:
    ids = list(range(1, 1_000_001, 3)) + list(range(1_000_002, 1_700_000, 7))
    data = fairness.ballots_txt(ids)
    ballots = read_in_chunks(data, list(range(65_000, len(data), 65_000)))
    assert ballots.canonical and ballots.count == len(ids)
    positions = (0, 1, 333_333, len(ids) - 1)
    assert [ballots.id_at(i) for i in positions] == [ids[i] for i in positions]

    swapped = data.replace(b"\n999997\n1000000\n", b"\n1000000\n999997\n")
    assert swapped != data
    assert not fairness.read_ballots_txt(swapped).canonical
    assert "does not ascend strictly" in fairness.read_ballots_txt(swapped).defect


def test_parse_ballots_txt_still_returns_the_ids() -> None:
    assert fairness.parse_ballots_txt(b"3\n10\n") == [3, 10]
    with pytest.raises(ValueError, match="line 2: 3 does not ascend strictly after 10"):
        fairness.parse_ballots_txt(b"10\n3\n")
