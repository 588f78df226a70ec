from django.contrib import admin
from django.http import HttpRequest

from .models import AuditEntry, OutboxEmail


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "action", "object_type", "object_id", "actor_label"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor_label"]
    date_hierarchy = "at"


@admin.register(OutboxEmail)
class OutboxEmailAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "to", "subject", "sent_at", "attempts", "next_attempt_at"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["to", "subject", "key"]
    exclude = ["body", "html"]  # the text may hold one-time links
