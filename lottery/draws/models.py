import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class DrawType(models.Model):
    """A kind of draw and the dates it runs on. On a date, the matching active type with
    the highest priority wins (e.g. New Year's Eve over Sunday Special over Daily)."""

    class Schedule(models.TextChoices):
        DAILY = "daily", "Every day"
        WEEKLY = "weekly", "Every week on a weekday"
        YEARLY = "yearly", "Every year on a date"

    name = models.CharField(max_length=100, unique=True)
    schedule = models.CharField(max_length=10, choices=Schedule.choices, default=Schedule.DAILY)
    weekday = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Weekly: 0 = Monday … 6 = Sunday",
        validators=[MaxValueValidator(6)],
    )
    month = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    day = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(31)]
    )
    priority = models.IntegerField(default=0, help_text="Higher wins when several types match a date")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-priority", "name"]
        constraints = [
            models.CheckConstraint(
                name="draw_type_schedule_fields",
                condition=Q(schedule="daily")
                | Q(schedule="weekly", weekday__isnull=False)
                | Q(schedule="yearly", month__isnull=False, day__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def matches(self, date: dt.date) -> bool:
        if self.schedule == self.Schedule.WEEKLY:
            return date.weekday() == self.weekday
        if self.schedule == self.Schedule.YEARLY:
            return (date.month, date.day) == (self.month, self.day)
        return True


class PrizeTier(models.Model):
    draw_type = models.ForeignKey(DrawType, on_delete=models.CASCADE, related_name="prizes")
    rank = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    name = models.CharField(max_length=100)
    amount = models.PositiveBigIntegerField(help_text="In cents")
    count = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(10_000)]
    )

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(fields=["draw_type", "rank"], name="prize_rank_unique_per_type"),
            models.CheckConstraint(name="prize_count_positive", condition=Q(count__gte=1)),
            models.CheckConstraint(name="prize_rank_positive", condition=Q(rank__gte=1)),
        ]

    def __str__(self) -> str:
        return f"{self.rank}. {self.name}"


class Draw(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        DRAWING = "drawing"
        CLOSED = "closed"

    date = models.DateField(unique=True)
    draw_type = models.ForeignKey(DrawType, on_delete=models.PROTECT, related_name="draws")
    type_name = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    closes_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    currency = models.CharField(max_length=3)
    # Copied from the draw type at creation and never changed: [{rank, name, amount, count}].
    prizes = models.JSONField()
    seed = models.BinaryField(max_length=32, editable=False)  # secret until drawn
    commitment = models.CharField(max_length=64)
    ballot_count = models.PositiveIntegerField(null=True, blank=True)
    ballot_digest = models.CharField(max_length=64, blank=True)
    beacon_source = models.CharField(max_length=200, blank=True)
    beacon_chain = models.CharField(max_length=64, blank=True)
    beacon_round = models.PositiveBigIntegerField(null=True, blank=True)
    beacon_randomness = models.CharField(max_length=64, blank=True)
    beacon_signature = models.CharField(max_length=512, blank=True)

    class Meta:
        ordering = ["-date"]
        indexes = [models.Index(fields=["status", "closes_at"], name="draw_status_closes_at")]
        constraints = [
            models.CheckConstraint(
                name="draw_frozen_has_ballot_list",
                condition=Q(status="open") | Q(ballot_count__isnull=False, closed_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.type_name} ({self.status})"

    @property
    def is_drawn(self) -> bool:
        return self.status == self.Status.CLOSED

    @property
    def revealed_seed(self) -> str | None:
        """The seed in hex once winners are drawn; None before (docs/fairness.md)."""
        return bytes(self.seed).hex() if self.is_drawn else None


class Ballot(models.Model):
    id = models.BigAutoField(primary_key=True)
    # The composite indexes below serve these lookups; single-column ones would only slow inserts.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ballots", db_index=False
    )
    order = models.ForeignKey("payments.Order", on_delete=models.PROTECT, related_name="ballots")
    draw = models.ForeignKey(
        Draw, null=True, blank=True, on_delete=models.PROTECT, related_name="ballots", db_index=False
    )
    purchased_at = models.DateTimeField()
    assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["draw", "id"], name="ballot_draw_id"),
            models.Index(fields=["owner", "id"], name="ballot_owner_id"),
        ]

    def __str__(self) -> str:
        return f"Ballot #{self.pk}"


class Winner(models.Model):
    """One awarded prize slot. The database forbids a second winner for a slot or a ballot."""

    draw = models.ForeignKey(Draw, on_delete=models.PROTECT, related_name="winners")
    slot = models.PositiveIntegerField()
    prize_rank = models.PositiveSmallIntegerField()
    prize_name = models.CharField(max_length=100)
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    ballot = models.OneToOneField(Ballot, on_delete=models.PROTECT, related_name="win")
    index = models.PositiveBigIntegerField()
    counter = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["draw", "slot"]
        constraints = [models.UniqueConstraint(fields=["draw", "slot"], name="winner_one_per_slot")]

    def __str__(self) -> str:
        return f"{self.draw.date} slot {self.slot}: ballot #{self.ballot_id}"
