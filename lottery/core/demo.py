"""Demo data for the embedded mode: an admin and a demo user (never in production)."""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lottery.accounts.models import User

DEMO_ADMIN = ("admin@example.com", "admin-password-123", "Ada Admin")
DEMO_USER = ("demo@example.com", "demo-password-123", "Dana Demo")


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    created: bool


def demo_seed() -> list[DemoAccount]:
    """Create the demo accounts (and whatever the apps register) once; later calls change nothing."""
    if settings.PRODUCTION:
        raise RuntimeError("demo data never exists in production")
    accounts = []
    with transaction.atomic():
        for (email, password, name), staff in ((DEMO_ADMIN, True), (DEMO_USER, False)):
            user = User.objects.filter(email=email).first()
            created = user is None
            if created:
                factory = User.objects.create_superuser if staff else User.objects.create_user
                factory(email, password, name=name, email_verified_at=timezone.now())
            accounts.append(DemoAccount(email=email, password=password, created=created))
        for seed in _app_seeds():
            seed()
    return accounts


def _app_seeds() -> list:
    from lottery.draws.defaults import draw_types_seed_defaults

    return [draw_types_seed_defaults]
