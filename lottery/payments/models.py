from django.conf import settings
from django.db import models
from django.db.models import Q


class Order(models.Model):
    """A paid purchase of ballots. It exists only with its charge and its ballots (one transaction)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    quantity = models.PositiveIntegerField()
    amount = models.PositiveBigIntegerField(help_text="In cents")
    currency = models.CharField(max_length=3)
    draw = models.ForeignKey("draws.Draw", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    gateway = models.CharField(max_length=50)
    charge_reference = models.CharField(max_length=100)
    card_last4 = models.CharField(max_length=4)
    created_at = models.DateTimeField(db_index=True)
    # NULL, not "": orders without a key must not collide in the unique constraint.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    request_fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
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
