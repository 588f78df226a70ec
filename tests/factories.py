import factory
from django.utils import timezone

from lottery.accounts.models import User

DEFAULT_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    email_verified_at = factory.LazyFunction(timezone.now)
    password = factory.django.Password(DEFAULT_PASSWORD)

    class Params:
        unverified = factory.Trait(email_verified_at=None)
        banned = factory.Trait(banned_at=factory.LazyFunction(timezone.now), ban_reason="test ban")
        staff = factory.Trait(is_staff=True)


class DrawTypeFactory(factory.django.DjangoModelFactory):
    """A daily type with a two-tier prize table (Jackpot x1, Runner-up x5)."""

    class Meta:
        model = "draws.DrawType"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Type {n}")
    schedule = "daily"
    priority = 0

    @factory.post_generation
    def prizes(obj, create, extracted, **kwargs):
        from lottery.draws.models import PrizeTier

        table = extracted if extracted is not None else [(1, "Jackpot", 100_000, 1), (2, "Runner-up", 500, 5)]
        for rank, name, amount, count in table:
            PrizeTier.objects.create(draw_type=obj, rank=rank, name=name, amount=amount, count=count)


def make_draw(date, *, draw_type=None, now=None):
    """An open draw for `date`, created by the real service (seed, commitment, prizes copied)."""
    from lottery.draws.services import draw_create

    draw_type = draw_type or DrawTypeFactory()
    return draw_create(date=date, draw_type=draw_type, now=now or timezone.now())


def make_ballots(user, count, *, draw=None, now=None):
    """Paid ballots for `user` (through a real order), optionally already in `draw`."""
    from lottery.draws.models import Ballot
    from lottery.payments.models import Order

    now = now or timezone.now()
    order = Order.objects.create(
        user=user,
        quantity=max(1, min(count, 1000)),
        amount=250 * count,
        currency="EUR",
        draw=draw,
        gateway="sandbox",
        charge_reference="test",
        card_last4="4242",
        created_at=now,
    )
    return Ballot.objects.bulk_create(
        [
            Ballot(owner=user, order=order, draw=draw, purchased_at=now, assigned_at=now if draw else None)
            for _ in range(count)
        ]
    )
