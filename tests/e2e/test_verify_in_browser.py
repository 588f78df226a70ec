"""The in-browser verifier: golden vectors, a tampered proof, and agreement with `lottery verify`."""

import copy
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from lottery import fairness, verifier
from lottery.draws import selectors
from lottery.draws.models import Ballot
from lottery.draws.services import draw_close
from tests.e2e import steps
from tests.factories import DrawTypeFactory, UserFactory, make_ballots, make_draw

pytestmark = pytest.mark.browser

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "fairness-vectors.json").read_text())


def _ids(case):
    ids = case["ballot_ids"]
    if isinstance(ids, dict):
        first, last = ids["range"]
        return list(range(first, last + 1))
    return ids


@pytest.fixture
def closed_draw(db):
    """Yesterday's draw, closed with 12 ballots of three players and six prizes."""
    draw_type = DrawTypeFactory(prizes=[(1, "Jackpot", 100_000, 1), (2, "Runner-up", 500, 5)])
    date = steps.today() - dt.timedelta(days=1)
    draw = make_draw(date, draw_type=draw_type, now=timezone.now() - dt.timedelta(days=3))
    for name, count in (("Jane Doe", 5), ("Omar Haddad", 4), ("Mei Lin", 3)):
        make_ballots(UserFactory(name=name), count, draw=draw, now=draw.closes_at - dt.timedelta(hours=1))
    return draw_close(draw_id=draw.pk, now=draw.closes_at)


def published(draw):
    proof = json.loads(json.dumps(selectors.draw_proof(selectors.draw_get(date=draw.date))))
    ids = Ballot.objects.filter(draw=draw).order_by("id").values_list("id", flat=True)
    return proof, fairness.ballots_txt(ids)


def test_the_javascript_verifier_reproduces_every_golden_vector(desktop, db):
    [draw] = steps.open_draws(days=1)
    page = desktop.page
    page.goto(f"/draws/{draw.date.isoformat()}/verify")  # loads verify.js
    cases = [{**case, "ballot_ids": _ids(case)} for case in VECTORS["cases"]]
    results = page.evaluate(
        "(cases) => Promise.all(cases.map((c) => window.LotteryVerify.drawAll(c)))", cases
    )
    for case, result in zip(cases, results, strict=True):
        assert result["commitment"] == case["commitment"], case["name"]
        assert result["ballot_digest"] == case["ballot_digest"], case["name"]
        assert result["winners"] == case["winners"], case["name"]


def test_the_javascript_verifier_passes_each_vector_as_a_proof(desktop, db):
    [draw] = steps.open_draws(days=1)
    page = desktop.page
    page.goto(f"/draws/{draw.date.isoformat()}/verify")
    proofs = [
        {
            "proof": {
                "algorithm": "lottery-draw-v1",
                "date": case["date"],
                "status": "closed",
                "commitment": case["commitment"],
                "seed": case["seed"],
                "prizes": case["prizes"],
                "ballot_count": len(_ids(case)),
                "ballot_digest": case["ballot_digest"],
                "beacon": None,
                "winners": case["winners"],
            },
            "ids": _ids(case),
        }
        for case in VECTORS["cases"]
        if not case["beacon"]  # a beacon proof needs a real round's signature
    ]
    verdicts = page.evaluate(
        """(items) => Promise.all(items.map((item) => {
             const V = window.LotteryVerify;
             const options = {expectedDate: item.proof.date};
             return V.verifyProof(item.proof, V.ballotsTxt(item.ids), options).then(V.verdict);
           }))""",
        proofs,
    )
    assert verdicts == ["All checks passed"] * len(proofs)


def test_a_real_draw_verifies_and_each_own_ballot_is_found(desktop, closed_draw):
    page = desktop.page
    page.goto(f"/draws/{closed_draw.date.isoformat()}")
    page.get_by_role("link", name="Verify this draw in your browser").click()
    assert steps.verdict(page) == "All checks passed"
    expect(page.locator(".check.is-fail")).to_have_count(0)
    proof, _ = published(closed_draw)
    own = proof["winners"][0]["ballot_id"]
    page.get_by_label("Your ballot number").fill(f"#{own}")
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#lookup-result")).to_contain_text(f"Ballot #{own} is in the list")
    page.get_by_label("Your ballot number").fill("999999")
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#lookup-result")).to_contain_text("is NOT in this draw's list")
    page.get_by_label("The commitment you noted while the draw was open").fill(proof["commitment"].upper())
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("#commitment-result")).to_have_text("It matches the commitment in the proof.")


def _tamperings(proof: dict, ballots: bytes) -> dict[str, tuple[dict, bytes]]:
    def changed(**fields):
        tampered = copy.deepcopy(proof)
        tampered.update(fields)
        return tampered

    winning = {w["ballot_id"] for w in proof["winners"]}
    other = next(i for i in map(int, ballots.split()) if i not in winning)
    swapped = copy.deepcopy(proof)
    swapped["winners"][0]["ballot_id"] = other
    seed = proof["seed"]
    digest = proof["ballot_digest"]
    bigger_table = copy.deepcopy(proof)
    bigger_table["prizes"][1]["count"] += 1
    lines = ballots.splitlines(keepends=True)
    return {
        "a winner swapped for another ballot": (swapped, ballots),
        "another seed": (changed(seed=("0" if seed[0] != "0" else "1") + seed[1:]), ballots),
        "another digest": (changed(ballot_digest=("0" if digest[0] != "0" else "1") + digest[1:]), ballots),
        "a ballot dropped from the list": (proof, b"".join(lines[1:])),
        "a list that is not canonical": (proof, b"0" + ballots),
        "a draw that is not closed": (changed(status="drawing"), ballots),
        "another algorithm": (changed(algorithm="lottery-draw-v2"), ballots),
        "another date": (changed(date="2001-01-01"), ballots),
        "a beacon whose randomness is not its signature's hash": (
            changed(
                beacon={
                    "source": "https://beacon.example",
                    "chain": "ab",
                    "round": 7,
                    "signature": "00",
                    "randomness": "1" * 64,
                }
            ),
            ballots,
        ),
        "a prize table changed after the draw": (bigger_table, ballots),
    }


def _serve(body: bytes, content_type: str):
    return lambda route: route.fulfill(body=body, content_type=content_type)


def test_a_tampered_proof_fails_in_the_browser_exactly_as_lottery_verify_says(desktop, closed_draw):
    page = desktop.page
    date = closed_draw.date.isoformat()
    proof, ballots = published(closed_draw)
    tamperings = _tamperings(proof, ballots)
    expected_names = set()
    for n, (label, (bad_proof, bad_ballots)) in enumerate(tamperings.items()):
        # What the reference verifier (the `lottery verify` command) says about this tampering.
        checks = verifier.verify_proof(bad_proof, bad_ballots, expected_date=date)
        failed = next(c.name for c in checks if not c.ok)
        expected_names.add(failed)
        base = re.escape(desktop.base_url)
        proof_body = json.dumps(bad_proof).encode()
        page.route(re.compile(rf"^{base}/tampered/{n}/proof\.json$"), _serve(proof_body, "application/json"))
        page.route(re.compile(rf"^{base}/tampered/{n}/ballots\.txt$"), _serve(bad_ballots, "text/plain"))
        page.goto(f"/draws/{date}/verify?proof=/tampered/{n}/proof.json&ballots=/tampered/{n}/ballots.txt")
        assert steps.verdict(page) == f"Check failed: {failed}", label
        expect(page.locator(f'.check[data-check="{failed}"]')).to_have_class("check is-fail")
    # Between them the tamperings trip every kind of check.
    assert expected_names == {
        "algorithm",
        "date",
        "status",
        "commitment",
        "ballots_canonical",
        "ballot_count",
        "ballot_digest",
        "beacon",
        "winners",
    }


def test_a_proof_that_cannot_be_fetched_fails_the_fetch_check(desktop, closed_draw):
    desktop.problems.allow(r"Failed to load resource: the server responded with a status of 404")
    page = desktop.page
    page.goto(f"/draws/{closed_draw.date.isoformat()}/verify?proof=/api/v1/draws/1999-01-01/proof")
    assert steps.verdict(page) == "Check failed: fetch"


def test_an_open_draw_cannot_be_verified_yet_but_shows_its_commitment(desktop, db):
    [draw] = steps.open_draws(days=1)
    page = desktop.page
    page.goto(f"/draws/{draw.date.isoformat()}/verify")
    expect(page.get_by_text("It can be verified after the close")).to_be_visible()
    expect(page.locator(".commitment-box")).to_have_text(draw.commitment)
    expect(page.locator("#verdict")).to_have_count(0)
