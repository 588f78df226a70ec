from typing import Any

from django.db import models
from django.utils import timezone

from .models import AuditEntry


def audit_log(
    *,
    action: str,
    obj: models.Model,
    actor: Any = None,
    actor_label: str = "",
    data: dict[str, Any] | None = None,
    at: Any = None,
) -> AuditEntry:
    """Append an audit entry; call it inside the transaction of the change it records."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        at=at or timezone.now(),
        actor=user,
        actor_label=actor_label or (str(user.email) if user else "system"),
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        data=data or {},
    )
