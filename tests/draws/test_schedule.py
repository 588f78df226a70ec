import datetime as dt
from collections import Counter

import pytest

from lottery import fairness
from lottery.core.models import AuditEntry
from lottery.draws import services
from lottery.draws.calendar import closes_at_for, lottery_date
from lottery.draws.defaults import draw_types_seed_defaults
from lottery.draws.models import Draw, DrawType, PrizeTier
from lottery.draws.services import draw_create, draw_type_for, draws_close_due, draws_ensure_upcoming
from tests.clocks import at
from tests.conftest import travel
from tests.factories import DrawTypeFactory, make_ballots, make_draw

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _closes(draw_ids):
    """{draw id: number of close audit entries}."""
    entries = AuditEntry.objects.filter(action="draw.closed", object_type="draws.draw")
    counts = Counter(int(e.object_id) for e in entries)
    return {pk: counts.get(pk, 0) for pk in draw_ids}


# --- creating upcoming draws ------------------------------------------------------------------


def test_ensure_upcoming_creates_today_and_the_next_seven_days(draw_type, now, today):
    created = draws_ensure_upcoming(now=now)

    assert [d.date for d in created] == [today + dt.timedelta(days=n) for n in range(8)]
    assert Draw.objects.count() == 8
    for draw in Draw.objects.all():
        assert draw.status == Draw.Status.OPEN
        assert draw.draw_type == draw_type and draw.type_name == draw_type.name
        assert draw.created_at == now
        assert draw.currency == "EUR"
        assert draw.ballot_count is None and draw.closed_at is None and draw.ballot_digest == ""
    assert AuditEntry.objects.filter(action="draw.created").count() == 8


def test_new_draw_publishes_the_commitment_to_its_secret_seed(draw_type, now):
    draws_ensure_upcoming(now=now)

    seeds = set()
    for draw in Draw.objects.all():
        seed = bytes(draw.seed)
        assert len(seed) == fairness.SEED_BYTES
        assert draw.commitment == fairness.commitment(date=draw.date.isoformat(), seed=seed)
        assert draw.revealed_seed is None
        seeds.add(seed)
    assert len(seeds) == 8  # a fresh seed per draw


def test_creation_audit_entry_carries_the_commitment_not_the_seed(draw, now):
    entry = AuditEntry.objects.get(action="draw.created", object_id=str(draw.pk))

    assert entry.data == {
        "date": draw.date.isoformat(),
        "type": draw.type_name,
        "commitment": draw.commitment,
    }
    assert bytes(draw.seed).hex() not in str(entry.data)


def test_new_draw_copies_the_prize_table_of_its_type(now, today):
    draw_type = DrawTypeFactory(prizes=[(2, "Second", 700, 3), (1, "First", 9_000, 1)])

    draw = make_draw(today, draw_type=draw_type, now=now)

    draw.refresh_from_db()
    assert draw.prizes == [
        {"rank": 1, "name": "First", "amount": 9_000, "count": 1},
        {"rank": 2, "name": "Second", "amount": 700, "count": 3},
    ]


def test_editing_the_type_later_changes_only_draws_created_later(draw_type, now, today):
    draws_ensure_upcoming(now=now, days=1)
    before = {d.pk: (d.prizes, d.type_name) for d in Draw.objects.all()}

    PrizeTier.objects.filter(draw_type=draw_type, rank=1).update(name="Mega", amount=1)
    PrizeTier.objects.create(draw_type=draw_type, rank=3, name="New tier", amount=5, count=2)
    draw_type.name = "Renamed"
    draw_type.save()
    created = draws_ensure_upcoming(now=now, days=2)

    for draw in Draw.objects.filter(pk__in=before):
        assert (draw.prizes, draw.type_name) == before[draw.pk]
    [later] = created
    assert later.date == today + dt.timedelta(days=2)
    assert later.type_name == "Renamed"
    assert later.prizes[0] == {"rank": 1, "name": "Mega", "amount": 1, "count": 1}
    assert later.prizes[-1] == {"rank": 3, "name": "New tier", "amount": 5, "count": 2}


def test_today_is_the_date_in_the_lottery_time_zone_not_in_utc(draw_type):
    # 23:30 UTC on 28 March is already 00:30 on 29 March in Amsterdam.
    draws_ensure_upcoming(now=dt.datetime(2026, 3, 28, 23, 30, tzinfo=UTC), days=0)

    assert list(Draw.objects.values_list("date", flat=True)) == [dt.date(2026, 3, 29)]


@pytest.mark.parametrize(
    ("date", "closes_at"),
    [
        (dt.date(2026, 6, 10), dt.datetime(2026, 6, 10, 22, 0, tzinfo=UTC)),  # summer time
        (dt.date(2026, 1, 15), dt.datetime(2026, 1, 15, 23, 0, tzinfo=UTC)),  # winter time
        (dt.date(2026, 3, 28), dt.datetime(2026, 3, 28, 23, 0, tzinfo=UTC)),  # day before spring-forward
        (dt.date(2026, 3, 29), dt.datetime(2026, 3, 29, 22, 0, tzinfo=UTC)),  # 23-hour day
        (dt.date(2026, 10, 24), dt.datetime(2026, 10, 24, 22, 0, tzinfo=UTC)),  # day before autumn-back
        (dt.date(2026, 10, 25), dt.datetime(2026, 10, 25, 23, 0, tzinfo=UTC)),  # 25-hour day
        (dt.date(2026, 12, 31), dt.datetime(2026, 12, 31, 23, 0, tzinfo=UTC)),  # year end
    ],
)
def test_draw_closes_at_the_midnight_ending_its_date_in_the_lottery_zone(draw_type, date, closes_at):
    draws_ensure_upcoming(now=dt.datetime.combine(date - dt.timedelta(days=1), dt.time(12), tzinfo=UTC))

    draw = Draw.objects.get(date=date)
    assert draw.closes_at == closes_at
    assert closes_at_for(date) == closes_at
    assert lottery_date(closes_at - dt.timedelta(microseconds=1)) == date
    assert lottery_date(closes_at) == date + dt.timedelta(days=1)


def test_draw_lasts_23_or_25_hours_on_a_dst_change_day(draw_type):
    draws_ensure_upcoming(now=dt.datetime(2026, 3, 27, 12, tzinfo=UTC))
    draws_ensure_upcoming(now=dt.datetime(2026, 10, 23, 12, tzinfo=UTC))

    def hours(date):
        return (closes_at_for(date) - closes_at_for(date - dt.timedelta(days=1))) / dt.timedelta(hours=1)

    assert hours(dt.date(2026, 3, 29)) == 23
    assert hours(dt.date(2026, 10, 25)) == 25
    assert hours(dt.date(2026, 10, 26)) == 24


# --- which type runs on a date ---------------------------------------------------------------------


def test_defaults_pick_sunday_special_on_sundays_and_daily_otherwise(db):
    draw_types_seed_defaults()

    draws_ensure_upcoming(now=dt.datetime(2026, 6, 10, 10, tzinfo=UTC))  # Wed 10 .. Wed 17 June

    by_date = dict(Draw.objects.values_list("date", "type_name"))
    assert by_date.pop(dt.date(2026, 6, 14)) == "Sunday Special"
    assert set(by_date.values()) == {"Daily"} and len(by_date) == 7
    assert Draw.objects.get(date=dt.date(2026, 6, 14)).prizes[0]["name"] == "Sunday Jackpot"


def test_new_years_eve_beats_sunday_which_beats_daily(db):
    draw_types_seed_defaults()

    # 31 December 2028 is a Sunday: all three types match it.
    draws_ensure_upcoming(now=dt.datetime(2028, 12, 27, 10, tzinfo=UTC))

    by_date = dict(Draw.objects.values_list("date", "type_name"))
    assert by_date.pop(dt.date(2028, 12, 31)) == "New Year's Eve"
    assert set(by_date.values()) == {"Daily"}
    assert draw_type_for(date=dt.date(2028, 12, 31)).name == "New Year's Eve"
    assert draw_type_for(date=dt.date(2029, 1, 7)).name == "Sunday Special"
    assert draw_type_for(date=dt.date(2029, 1, 8)).name == "Daily"


def test_seeding_the_default_types_twice_creates_them_once(db):
    assert len(draw_types_seed_defaults()) == 3
    assert draw_types_seed_defaults() == []
    assert DrawType.objects.count() == 3
    assert PrizeTier.objects.count() == 9


def test_inactive_types_are_ignored(db):
    draw_types_seed_defaults()
    DrawType.objects.filter(name="New Year's Eve").update(active=False)

    assert draw_type_for(date=dt.date(2028, 12, 31)).name == "Sunday Special"
    DrawType.objects.filter(name="Sunday Special").update(active=False)
    assert draw_type_for(date=dt.date(2028, 12, 31)).name == "Daily"
    DrawType.objects.filter(name="Daily").update(active=False)
    assert draw_type_for(date=dt.date(2028, 12, 31)) is None


def test_no_draw_on_a_date_no_active_type_matches(db):
    DrawTypeFactory(schedule="weekly", weekday=6, name="Sundays only")
    DrawTypeFactory(name="Switched off", active=False)

    created = draws_ensure_upcoming(now=dt.datetime(2026, 6, 10, 10, tzinfo=UTC))

    assert [d.date for d in created] == [dt.date(2026, 6, 14)]
    assert Draw.objects.count() == 1


def test_no_types_at_all_creates_nothing(db):
    assert draws_ensure_upcoming(now=dt.datetime(2026, 6, 10, 10, tzinfo=UTC)) == []
    assert not Draw.objects.exists()


def test_equal_priority_tie_goes_to_the_older_type(db):
    older = DrawTypeFactory(priority=5)
    DrawTypeFactory(priority=5)

    assert draw_type_for(date=dt.date(2026, 6, 10)) == older


# --- run twice, one effect -------------------------------------------------------------------------


def test_ensure_upcoming_twice_has_one_effect(draw_type, now):
    draws_ensure_upcoming(now=now)
    seeds = dict(Draw.objects.values_list("date", "seed"))

    assert draws_ensure_upcoming(now=now) == []
    assert draws_ensure_upcoming(now=now + dt.timedelta(hours=1)) == []

    assert Draw.objects.count() == 8
    assert {d: bytes(s) for d, s in Draw.objects.values_list("date", "seed")} == {
        d: bytes(s) for d, s in seeds.items()
    }
    assert AuditEntry.objects.filter(action="draw.created").count() == 8


def test_ensure_upcoming_the_next_day_adds_only_the_new_last_day(draw_type, now, today):
    draws_ensure_upcoming(now=now)

    created = draws_ensure_upcoming(now=now + dt.timedelta(days=1))

    assert [d.date for d in created] == [today + dt.timedelta(days=8)]


def test_creating_an_existing_draw_again_returns_none(draw, draw_type, now):
    assert draw_create(date=draw.date, draw_type=draw_type, now=now) is None

    assert Draw.objects.count() == 1
    assert bytes(Draw.objects.get().seed) == bytes(draw.seed)
    assert AuditEntry.objects.filter(action="draw.created").count() == 1


def test_ensure_upcoming_losing_the_creation_race_is_not_an_error(draw_type, now, today, monkeypatch):
    """Another scheduler creates a draw between our existence check and our insert."""
    real_type_for = services.draw_type_for
    rival = {}

    def type_for_after_rival_created(*, date, types=None):
        if date == today and not rival:
            rival["draw"] = draw_create(date=date, draw_type=draw_type, now=now)
        return real_type_for(date=date, types=types)

    monkeypatch.setattr(services, "draw_type_for", type_for_after_rival_created)

    created = draws_ensure_upcoming(now=now)

    assert today not in [d.date for d in created]
    assert len(created) == 7
    assert Draw.objects.get(date=today) == rival["draw"]
    assert Draw.objects.count() == 8


# --- closing what is due ---------------------------------------------------------------------------


def test_close_due_closes_only_draws_past_closes_at(draw_type, now, today):
    draws_ensure_upcoming(now=now, days=2)
    first = Draw.objects.get(date=today)

    assert draws_close_due(clock=at(first.closes_at - dt.timedelta(microseconds=1))) == []
    closed = draws_close_due(clock=at(first.closes_at))

    assert [d.pk for d in closed] == [first.pk]
    assert dict(Draw.objects.values_list("date", "status")) == {
        today: "closed",
        today + dt.timedelta(days=1): "open",
        today + dt.timedelta(days=2): "open",
    }
    first.refresh_from_db()
    assert first.closed_at == first.closes_at


def test_close_due_closes_the_oldest_first(draw_type, now, today):
    # Created newest first, so the order of ids is not the order of dates.
    for offset in (2, 0, 1):
        make_draw(today + dt.timedelta(days=offset), draw_type=draw_type, now=now)

    closed = draws_close_due(clock=at(now + dt.timedelta(days=5)))

    assert [d.date for d in closed] == [today + dt.timedelta(days=n) for n in range(3)]
    entries = AuditEntry.objects.filter(action="draw.closed").order_by("id")
    assert [int(e.object_id) for e in entries] == [d.pk for d in closed]


def test_close_due_twice_has_one_effect(draw_type, now, user):
    draws_ensure_upcoming(now=now, days=1)
    draw = Draw.objects.get(date=lottery_date(now))
    make_ballots(user, 10, draw=draw, now=now)
    later = draw.closes_at + dt.timedelta(seconds=30)

    first = draws_close_due(clock=at(later))
    winners = list(draw.winners.values_list("slot", "ballot_id"))
    second = draws_close_due(clock=at(later + dt.timedelta(seconds=60)))

    assert [d.pk for d in first] == [draw.pk] and second == []
    assert list(draw.winners.values_list("slot", "ballot_id")) == winners and len(winners) == 6
    assert _closes([draw.pk]) == {draw.pk: 1}
    draw.refresh_from_db()
    assert draw.closed_at == later


def test_close_due_catches_up_after_days_of_downtime(draw_type, now, today):
    draws_ensure_upcoming(now=now)

    back = now + dt.timedelta(days=3)
    closed = draws_close_due(clock=at(back))

    assert [d.date for d in closed] == [today + dt.timedelta(days=n) for n in range(3)]
    assert all(d.closed_at == back for d in closed)
    assert draws_close_due(clock=at(back)) == []
    assert _closes([d.pk for d in closed]) == {d.pk: 1 for d in closed}
    assert Draw.objects.filter(status="open").count() == 5


@pytest.mark.parametrize(
    ("start", "end"),
    [
        # The night clocks go back (25-hour day 2026-10-25), and the following one.
        (dt.datetime(2026, 10, 24, 20, 0, 17, tzinfo=UTC), dt.datetime(2026, 10, 26, 1, 0, tzinfo=UTC)),
        # The night clocks go forward (23-hour day 2026-03-29), and the following one.
        (dt.datetime(2026, 3, 28, 20, 0, 17, tzinfo=UTC), dt.datetime(2026, 3, 30, 1, 0, tzinfo=UTC)),
    ],
    ids=["autumn-back", "spring-forward"],
)
def test_ticking_every_minute_across_a_dst_change_closes_each_draw_once(draw_type, start, end):
    tick = dt.timedelta(seconds=60)
    moment = start
    while moment < end:  # the scheduler: close whatever is due; keep a week ahead (hourly is plenty)
        if moment.minute == 0:
            draws_ensure_upcoming(now=moment)
        draws_close_due(clock=at(moment))
        moment += tick

    closed = list(Draw.objects.filter(status="closed").order_by("date"))
    first = lottery_date(start)
    assert [d.date for d in closed] == [first, first + dt.timedelta(days=1)]
    for draw in closed:
        assert draw.closes_at <= draw.closed_at < draw.closes_at + tick
    assert _closes([d.pk for d in closed]) == {d.pk: 1 for d in closed}
    assert not Draw.objects.filter(status="open", closes_at__lte=end).exists()
    assert Draw.objects.filter(status="open").count() == 8  # the last tick's today and a week ahead


@pytest.mark.django_db(transaction=True)
def test_periodic_tick_twice_creates_and_closes_once(draw_type):
    from django.utils import timezone

    from lottery.core.periodic import run_periodic_once

    with travel(dt.timedelta(0)):
        run_periodic_once()
        run_periodic_once()
        today = lottery_date(timezone.now())
    assert Draw.objects.count() == 8
    assert not Draw.objects.filter(status="closed").exists()
    first = Draw.objects.get(date=today)

    with travel(first.closes_at - timezone.now() + dt.timedelta(seconds=1)):
        run_periodic_once()
        run_periodic_once()

    assert list(Draw.objects.filter(status="closed").values_list("pk", flat=True)) == [first.pk]
    assert Draw.objects.count() == 9  # tomorrow is today now: one more day ahead
    assert _closes([first.pk]) == {first.pk: 1}
    assert AuditEntry.objects.filter(action="draw.created").count() == 9
