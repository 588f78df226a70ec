from django.conf import settings
from django.db import models
from django.db.models import Q


class Order(models.Model):
    """A paid purchase of ballots. It exists only with its charge and its ballots (one transaction)."""

    class CaptureStatus(models.TextChoices):
        # Stored with its ballots: the charge is authorized, its capture follows the commit.
        PENDING = "pending", "Capture pending"
        # The gateway failed the capture: the periodic sweep retries it until it succeeds.
        FAILED = "failed", "Capture failed"
        CAPTURED = "captured", "Captured"

    UNCAPTURED = (CaptureStatus.PENDING, CaptureStatus.FAILED)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    quantity = models.PositiveIntegerField()
    amount = models.PositiveBigIntegerField(help_text="In cents")
    currency = models.CharField(max_length=3)
    draw = models.ForeignKey("draws.Draw", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    gateway = models.CharField(max_length=50)
    charge_reference = models.CharField(max_length=100)
    card_last4 = models.CharField(max_length=4)
    created_at = models.DateTimeField(db_index=True)
    capture_status = models.CharField(
        max_length=8, choices=CaptureStatus.choices, default=CaptureStatus.PENDING
    )
    # NULL, not "": orders without a key must not collide in the unique constraint.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    request_fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The capture sweep and /metrics read only the few orders not captured yet.
            models.Index(
                fields=["created_at"],
                condition=Q(capture_status__in=["pending", "failed"]),
                name="order_uncaptured",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="order_idempotency_key_unique_per_user",
            ),
            models.CheckConstraint(
                name="order_quantity_range", condition=Q(quantity__gte=1, quantity__lte=1000)
            ),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk} ({self.quantity} ballots)"
