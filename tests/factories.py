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
