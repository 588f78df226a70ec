"""The default draw types and prize tables (demo data, and a starting point in production)."""

from typing import cast

from django.db import transaction

from .models import DrawType, PrizeTier

DEFAULT_DRAW_TYPES = [
    {
        "name": "Daily",
        "schedule": DrawType.Schedule.DAILY,
        "priority": 0,
        "prizes": [(1, "Jackpot", 100_000, 1), (2, "Runner-up", 5_000, 3), (3, "Lucky ballot", 500, 10)],
    },
    {
        "name": "Sunday Special",
        "schedule": DrawType.Schedule.WEEKLY,
        "weekday": 6,
        "priority": 10,
        "prizes": [
            (1, "Sunday Jackpot", 500_000, 1),
            (2, "Runner-up", 10_000, 5),
            (3, "Lucky ballot", 1_000, 20),
        ],
    },
    {
        "name": "New Year's Eve",
        "schedule": DrawType.Schedule.YEARLY,
        "month": 12,
        "day": 31,
        "priority": 20,
        "prizes": [
            (1, "New Year Jackpot", 10_000_000, 1),
            (2, "Fireworks prize", 100_000, 10),
            (3, "Champagne prize", 5_000, 100),
        ],
    },
]


def draw_types_seed_defaults() -> list[DrawType]:
    """Create the default draw types that do not exist yet (by name); existing ones are left alone."""
    created = []
    with transaction.atomic():
        for spec in DEFAULT_DRAW_TYPES:
            fields = {k: v for k, v in spec.items() if k not in {"name", "prizes"}}
            draw_type, was_created = DrawType.objects.get_or_create(name=spec["name"], defaults=fields)
            if was_created:
                PrizeTier.objects.bulk_create(
                    PrizeTier(draw_type=draw_type, rank=rank, name=name, amount=amount, count=count)
                    for rank, name, amount, count in cast("list[tuple[int, str, int, int]]", spec["prizes"])
                )
                created.append(draw_type)
    return created
