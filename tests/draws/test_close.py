import datetime as dt
import hashlib

import pytest
from django.db import IntegrityError, transaction

from lottery import fairness
from lottery.core.models import AuditEntry, OutboxEmail
from lottery.core.timefmt import iso_utc
from lottery.draws import services
from lottery.draws.ballot_list import ballot_ids_at, ballot_txt_pages
from lottery.draws.errors import DrawClosed, DrawNotFound
from lottery.draws.models import Ballot, Draw, Winner
from lottery.draws.services import draw_close, draw_close_by_date, draws_close_due
from lottery.verifier import verify_proof
from tests.clocks import at
from tests.factories import DrawTypeFactory, UserFactory, make_ballots, make_draw

pytestmark = pytest.mark.django_db

PRIZES = [(1, "Jackpot", 100_000, 1), (2, "Runner-up", 5_000, 3), (3, "Lucky ballot", 500, 10)]


@pytest.fixture
def big_draw(now, today):
    """Today's draw with a 14-slot prize table and 40 ballots from several users, whose ids
    are interleaved with ballots of another draw and unassigned ones."""
    draw = make_draw(today, draw_type=DrawTypeFactory(prizes=PRIZES), now=now)
    other = make_draw(today + dt.timedelta(days=1), now=now)
    users = [UserFactory() for _ in range(4)]
    for n in range(40):
        make_ballots(users[n % 4], 1, draw=draw, now=now)
        make_ballots(users[n % 4], 1, draw=other if n % 2 else None, now=now)
    return draw


def ids_in(draw):
    return sorted(Ballot.objects.filter(draw=draw).values_list("pk", flat=True))


def ballots_txt_of(draw):
    return b"".join(ballot_txt_pages(draw.pk))


def proof_of(draw):
    """The proof as docs/fairness.md "The proof" publishes it, built from the stored draw."""
    draw = Draw.objects.get(pk=draw.pk)
    return {
        "algorithm": fairness.ALGORITHM,
        "date": draw.date.isoformat(),
        "status": draw.status,
        "commitment": draw.commitment,
        "seed": draw.revealed_seed,
        "prizes": [{**prize, "currency": draw.currency} for prize in draw.prizes],
        "ballot_count": draw.ballot_count,
        "ballot_digest": draw.ballot_digest,
        "closes_at": iso_utc(draw.closes_at),
        "closed_at": iso_utc(draw.closed_at),
        "beacon": None,
        "winners": [
            {
                "slot": w.slot,
                "prize_rank": w.prize_rank,
                "ballot_id": w.ballot_id,
                "index": w.index,
                "counter": w.counter,
            }
            for w in draw.winners.order_by("slot")
        ],
    }


def stored_winners(draw):
    return [
        fairness.Winner(w.slot, w.prize_rank, w.ballot_id, w.index, w.counter)
        for w in draw.winners.order_by("slot")
    ]


def assert_untouched(draw):
    draw.refresh_from_db()
    assert draw.status == Draw.Status.OPEN
    assert (draw.ballot_count, draw.ballot_digest, draw.closed_at) == (None, "", None)
    assert draw.revealed_seed is None
    assert not Winner.objects.filter(draw=draw).exists()
    assert not AuditEntry.objects.filter(action__startswith="draw.closed", object_id=str(draw.pk)).exists()
    assert not OutboxEmail.objects.filter(key__startswith=f"draw-winner:{draw.pk}:").exists()


# --- the result is docs/fairness.md's, byte for byte --------------------------------------------------------


def test_close_draws_exactly_the_winners_of_the_fairness_module(big_draw, now):
    closed = draw_close(draw_id=big_draw.pk, clock=at(now))

    ids = ids_in(big_draw)
    expected = fairness.draw_winners(
        seed=bytes(big_draw.seed),
        date=big_draw.date.isoformat(),
        ballot_ids=ids,
        beacon="",
        prizes=big_draw.prizes,
    )
    assert len(ids) == 40 and len(expected) == 14
    assert stored_winners(closed) == expected
    assert [w.ballot_id for w in stored_winners(closed)] == [ids[w.index] for w in expected]


def test_close_publishes_count_and_digest_of_the_canonical_ballot_list(big_draw, now):
    closed = draw_close(draw_id=big_draw.pk, clock=at(now))

    ids = ids_in(big_draw)
    assert ballots_txt_of(closed) == fairness.ballots_txt(ids)
    assert closed.ballot_count == 40
    assert closed.ballot_digest == hashlib.sha256(fairness.ballots_txt(ids)).hexdigest()
    closed.refresh_from_db()
    assert (closed.status, closed.closed_at, closed.ballot_count) == (Draw.Status.CLOSED, now, 40)


def test_winners_carry_the_prize_copied_onto_the_draw(big_draw, now):
    closed = draw_close(draw_id=big_draw.pk, clock=at(now))

    by_rank = {rank: (name, amount) for rank, name, amount, _ in PRIZES}
    winners = list(closed.winners.order_by("slot"))
    assert [w.prize_rank for w in winners] == [1] + [2] * 3 + [3] * 10
    for winner in winners:
        assert (winner.prize_name, winner.amount) == by_rank[winner.prize_rank]
        assert winner.currency == "EUR"
        assert winner.ballot.draw_id == big_draw.pk
    assert len({w.ballot_id for w in winners}) == 14  # one prize per ballot


def test_verifier_accepts_the_closed_draw(big_draw, now):
    commitment_while_open = big_draw.commitment
    draw_close(draw_id=big_draw.pk, clock=at(now))

    checks = verify_proof(
        proof_of(big_draw),
        ballots_txt_of(big_draw),
        expected_commitment=commitment_while_open,
        expected_date=big_draw.date.isoformat(),
    )

    assert [c.name for c in checks if not c.ok] == []


def test_verifier_rejects_the_closed_draw_with_a_winner_changed(big_draw, now):
    draw_close(draw_id=big_draw.pk, clock=at(now))
    proof = proof_of(big_draw)
    proof["winners"][0]["ballot_id"] = proof["winners"][1]["ballot_id"]

    checks = verify_proof(proof, ballots_txt_of(big_draw))

    assert [c.name for c in checks if not c.ok] == ["winners"]


def test_close_reveals_the_committed_seed(big_draw, now):
    assert Draw.objects.get(pk=big_draw.pk).revealed_seed is None

    closed = draw_close(draw_id=big_draw.pk, clock=at(now))

    seed = bytes.fromhex(Draw.objects.get(pk=big_draw.pk).revealed_seed)
    assert seed == bytes(big_draw.seed)
    assert closed.commitment == fairness.commitment(date=closed.date.isoformat(), seed=seed)


def test_close_audit_entry_records_digest_and_winners(big_draw, now):
    closed = draw_close(draw_id=big_draw.pk, clock=at(now))

    entry = AuditEntry.objects.get(action="draw.closed")
    assert (entry.object_type, entry.object_id, entry.actor_label, entry.at) == (
        "draws.draw",
        str(closed.pk),
        "scheduler",
        now,
    )
    assert entry.data["ballot_count"] == 40
    assert entry.data["ballot_digest"] == closed.ballot_digest
    assert entry.data["winners"] == [
        {"slot": w.slot, "ballot_id": w.ballot_id} for w in stored_winners(closed)
    ]
    assert bytes(closed.seed).hex() not in str(entry.data)


def test_ballot_ids_at_maps_positions_in_the_ascending_list(big_draw):
    ids = ids_in(big_draw)

    assert ballot_ids_at(big_draw.pk, [0, 7, 39]) == {0: ids[0], 7: ids[7], 39: ids[39]}
    assert ballot_ids_at(big_draw.pk, []) == {}
    assert ballot_ids_at(big_draw.pk, [40]) == {}


# --- edge cases ---------------------------------------------------------------------------------------


def test_empty_draw_closes_with_no_winners_and_the_digest_of_nothing(draw, now):
    closed = draw_close(draw_id=draw.pk, clock=at(now))

    assert closed.status == Draw.Status.CLOSED
    assert closed.ballot_count == 0
    assert closed.ballot_digest == hashlib.sha256(b"").hexdigest()
    assert not closed.winners.exists()
    assert ballots_txt_of(closed) == b""
    assert Draw.objects.get(pk=draw.pk).revealed_seed == bytes(draw.seed).hex()
    assert [c.name for c in verify_proof(proof_of(draw), b"") if not c.ok] == []


def test_more_slots_than_ballots_gives_every_ballot_one_prize_from_the_top(draw, user, now):
    ballots = make_ballots(user, 3, draw=draw, now=now)  # six slots: Jackpot x1, Runner-up x5

    closed = draw_close(draw_id=draw.pk, clock=at(now))

    winners = stored_winners(closed)
    assert [w.slot for w in winners] == [0, 1, 2]
    assert [w.prize_rank for w in winners] == [1, 2, 2]
    assert sorted(w.ballot_id for w in winners) == sorted(b.pk for b in ballots)
    ids = ids_in(draw)
    assert winners == fairness.draw_winners(
        seed=bytes(draw.seed), date=draw.date.isoformat(), ballot_ids=ids, beacon="", prizes=draw.prizes
    )
    assert [c.name for c in verify_proof(proof_of(draw), ballots_txt_of(draw)) if not c.ok] == []


def test_single_ballot_wins_the_jackpot(draw, user, now):
    [ballot] = make_ballots(user, 1, draw=draw, now=now)

    closed = draw_close(draw_id=draw.pk, clock=at(now))

    [winner] = closed.winners.all()
    assert (winner.ballot_id, winner.slot, winner.prize_rank, winner.index) == (ballot.pk, 0, 1, 0)


# --- exactly once ------------------------------------------------------------------------------------


def test_closing_twice_returns_the_stored_result(big_draw, now):
    first = draw_close(draw_id=big_draw.pk, clock=at(now))
    winners = stored_winners(first)

    second = draw_close(draw_id=big_draw.pk, clock=at(now + dt.timedelta(hours=1)))

    assert second.pk == first.pk
    assert (second.status, second.closed_at, second.ballot_count, second.ballot_digest) == (
        first.status,
        first.closed_at,
        first.ballot_count,
        first.ballot_digest,
    )
    assert stored_winners(second) == winners
    assert AuditEntry.objects.filter(action="draw.closed").count() == 1


def test_database_refuses_a_second_winner_for_a_slot(draw, user, now):
    a, b = make_ballots(user, 2, draw=draw, now=now)
    fields = {
        "draw": draw,
        "prize_rank": 1,
        "prize_name": "Jackpot",
        "amount": 1,
        "currency": "EUR",
        "counter": 0,
    }
    Winner.objects.create(slot=0, ballot=a, index=0, **fields)

    with pytest.raises(IntegrityError), transaction.atomic():
        Winner.objects.create(slot=0, ballot=b, index=1, **fields)


def test_database_refuses_a_second_prize_for_a_ballot(draw, user, now):
    [ballot] = make_ballots(user, 1, draw=draw, now=now)
    fields = {
        "draw": draw,
        "prize_rank": 1,
        "prize_name": "Jackpot",
        "amount": 1,
        "currency": "EUR",
        "counter": 0,
    }
    Winner.objects.create(slot=0, ballot=ballot, index=0, **fields)

    with pytest.raises(IntegrityError), transaction.atomic():
        Winner.objects.create(slot=1, ballot=ballot, index=0, **fields)


def test_database_refuses_a_frozen_draw_without_its_ballot_list(draw):
    with pytest.raises(IntegrityError), transaction.atomic():
        Draw.objects.filter(pk=draw.pk).update(status=Draw.Status.CLOSED)


# --- winner e-mails ----------------------------------------------------------------------------------


def test_close_queues_one_mail_per_winner_in_its_transaction(big_draw, now):
    closed = draw_close(draw_id=big_draw.pk, clock=at(now))

    winners = list(closed.winners.select_related("ballot__owner"))
    emails = OutboxEmail.objects.filter(key__startswith=f"draw-winner:{closed.pk}:")
    assert sorted(e.key for e in emails) == sorted(f"draw-winner:{closed.pk}:{w.slot}" for w in winners)
    assert sorted(e.to for e in emails) == sorted(w.ballot.owner.email for w in winners)
    assert all(e.sent_at is None for e in emails)


def test_winner_mail_names_prize_amount_and_links(draw, user, now, delivered_mail):
    [ballot] = make_ballots(user, 1, draw=draw, now=now)
    draw_close(draw_id=draw.pk, clock=at(now))

    [message] = delivered_mail()

    assert message.to == [user.email]
    assert "Jackpot" in message.subject and "10 June 2026" in message.subject
    assert user.name in message.body
    assert f"#{ballot.pk}" in message.body and "€1,000.00" in message.body
    assert "http://testserver/draws/2026-06-10\n" in message.body
    assert "http://testserver/draws/2026-06-10/verify\n" in message.body
    assert message.alternatives and "€1,000.00" in message.alternatives[0][0]


def test_every_winner_is_mailed_once_even_if_closed_again(big_draw, now, delivered_mail):
    closed = draw_close(draw_id=big_draw.pk, clock=at(now))
    sent = delivered_mail()

    draw_close(draw_id=big_draw.pk, clock=at(now + dt.timedelta(minutes=1)))

    assert len(sent) == 14
    assert sorted(m.to[0] for m in sent) == sorted(
        closed.winners.values_list("ballot__owner__email", flat=True)
    )
    assert delivered_mail() == sent
    assert OutboxEmail.objects.count() == 14


def test_empty_draw_mails_nobody(draw, now, delivered_mail):
    draw_close(draw_id=draw.pk, clock=at(now))

    assert delivered_mail() == []


# --- failure mid-close -------------------------------------------------------------------------------


def test_failure_mid_close_rolls_everything_back_and_a_later_close_succeeds(
    big_draw, user, now, buy, monkeypatch
):
    def broken(draw, winners):
        raise RuntimeError("mail template missing")

    monkeypatch.setattr(services, "_notify_winners", broken)
    with pytest.raises(RuntimeError, match="mail template missing"):
        draw_close(draw_id=big_draw.pk, clock=at(now))

    assert_untouched(big_draw)
    buy(user, 2, draw_date=big_draw.date)  # still open for business
    monkeypatch.undo()

    closed = draw_close(draw_id=big_draw.pk, clock=at(now + dt.timedelta(minutes=1)))

    assert closed.ballot_count == 42
    assert closed.closed_at == now + dt.timedelta(minutes=1)
    assert stored_winners(closed) == fairness.draw_winners(
        seed=bytes(big_draw.seed),
        date=big_draw.date.isoformat(),
        ballot_ids=ids_in(big_draw),
        beacon="",
        prizes=big_draw.prizes,
    )
    assert AuditEntry.objects.filter(action="draw.closed").count() == 1
    assert OutboxEmail.objects.count() == 14


# --- the operator's close ----------------------------------------------------------------------------


def test_operator_closes_before_closes_at_and_it_is_audited_as_manual(big_draw, now, buy, user):
    staff = UserFactory(staff=True)
    early = big_draw.closes_at - dt.timedelta(hours=3)

    closed = draw_close_by_date(date=big_draw.date, clock=at(early), actor=staff)

    assert closed.status == Draw.Status.CLOSED and closed.closed_at == early
    entry = AuditEntry.objects.get(object_id=str(closed.pk), action__startswith="draw.closed")
    assert entry.action == "draw.closed_manually"
    assert (entry.actor, entry.actor_label) == (staff, staff.email)
    with pytest.raises(DrawClosed):
        buy(user, 1, draw_date=big_draw.date, clock=at(early + dt.timedelta(seconds=1)))
    assert draws_close_due(clock=at(big_draw.closes_at)) == []


def test_operator_close_by_token_is_audited_as_operator(draw, now):
    draw_close_by_date(date=draw.date, clock=at(now))

    entry = AuditEntry.objects.get(action="draw.closed_manually")
    assert (entry.actor, entry.actor_label) == (None, "operator")


def test_operator_close_of_a_closed_draw_returns_it_unchanged(draw, now):
    draw_close(draw_id=draw.pk, clock=at(now))

    again = draw_close_by_date(date=draw.date, clock=at(now + dt.timedelta(hours=1)))

    assert again.closed_at == now
    assert AuditEntry.objects.filter(action__startswith="draw.closed").count() == 1


def test_operator_close_of_an_unknown_date_is_not_found(db, today, now):
    with pytest.raises(DrawNotFound):
        draw_close_by_date(date=today, clock=at(now))


def test_a_failing_close_does_not_hold_up_later_draws(monkeypatch, now):
    from datetime import timedelta

    from lottery.draws import services
    from lottery.draws.models import Draw
    from tests.factories import DrawTypeFactory, make_draw

    draw_type = DrawTypeFactory()
    first = make_draw(now.date() - timedelta(days=3), draw_type=draw_type, now=now - timedelta(days=4))
    second = make_draw(now.date() - timedelta(days=2), draw_type=draw_type, now=now - timedelta(days=4))
    real_close = services.draw_close

    def flaky_close(*, draw_id, **kwargs):
        if draw_id == first.pk:
            raise RuntimeError("template broken")
        return real_close(draw_id=draw_id, **kwargs)

    monkeypatch.setattr(services, "draw_close", flaky_close)
    closed = services.draws_close_due(clock=at(now))
    assert [d.pk for d in closed] == [second.pk]
    assert Draw.objects.get(pk=first.pk).status == "open"
    assert Draw.objects.get(pk=second.pk).status == "closed"


@pytest.mark.parametrize("page_size", [1, 3, 7, 40, 1000])
def test_close_reads_the_list_in_pages_without_changing_a_byte(monkeypatch, page_size, now):
    from lottery import fairness
    from lottery.draws import ballot_list
    from lottery.draws.models import Ballot
    from tests.factories import DrawTypeFactory, UserFactory, make_ballots, make_draw

    monkeypatch.setattr(ballot_list, "PAGE_SIZE", page_size)
    draw = make_draw(now.date(), draw_type=DrawTypeFactory(), now=now)
    make_ballots(UserFactory(), 40, draw=draw)
    make_ballots(UserFactory(), 5)  # not in the draw
    ids = sorted(Ballot.objects.filter(draw=draw).values_list("id", flat=True))
    closed = draw_close(draw_id=draw.pk, clock=at(now))
    assert b"".join(ballot_list.ballot_txt_pages(draw.pk)) == fairness.ballots_txt(ids)
    assert closed.ballot_digest == hashlib.sha256(fairness.ballots_txt(ids)).hexdigest()
    expected = fairness.draw_winners(
        seed=bytes(closed.seed), date=draw.date.isoformat(), ballot_ids=ids, beacon="", prizes=closed.prizes
    )
    stored = list(closed.winners.order_by("slot").values_list("ballot_id", "index", "counter"))
    assert stored == [(w.ballot_id, w.index, w.counter) for w in expected]
