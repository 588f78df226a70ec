from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from lottery.core.admin import ReadOnlyAdmin, SecretFieldsAdmin

from . import services
from .models import Ballot, Draw, DrawType, PrizeTier, Winner


class PrizeTierInline(admin.TabularInline):
    model = PrizeTier
    extra = 1


@admin.register(DrawType)
class DrawTypeAdmin(SecretFieldsAdmin):
    list_display = ["name", "schedule", "weekday", "month", "day", "priority", "active"]
    list_filter = ["schedule", "active"]
    inlines = [PrizeTierInline]


_WINNER_FIELDS = ("slot", "prize_rank", "prize_name", "amount", "ballot", "index", "counter")


class WinnerInline(admin.TabularInline):
    model = Winner
    fields = _WINNER_FIELDS
    readonly_fields = _WINNER_FIELDS
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Draw)
class DrawAdmin(ReadOnlyAdmin):
    """Draws are created and closed by the services only; the seed never shows before the draw."""

    list_display = ["date", "type_name", "status", "closes_at", "closed_at", "ballot_count"]
    list_filter = ["status", "type_name"]
    date_hierarchy = "date"
    readonly_fields = [
        "date",
        "draw_type",
        "type_name",
        "status",
        "closes_at",
        "closed_at",
        "created_at",
        "currency",
        "prizes",
        "commitment",
        "revealed_seed",
        "ballot_count",
        "ballot_digest",
        "beacon_source",
        "beacon_chain",
        "beacon_round",
        "beacon_randomness",
        "beacon_signature",
    ]
    inlines = [WinnerInline]
    actions = ["close_now"]

    @admin.display(description="Seed (revealed once drawn)")
    def revealed_seed(self, draw: Draw) -> str:
        return draw.revealed_seed or "secret until the winners are drawn"

    def has_close_permission(self, request: HttpRequest) -> bool:
        # Nobody edits a draw here; closing one by hand is what the change permission grants.
        return request.user.has_perm("draws.change_draw")

    @admin.action(
        description="Close selected draws now (freezes ballots and draws winners)", permissions=["close"]
    )
    def close_now(self, request: HttpRequest, queryset: QuerySet[Draw]) -> None:
        for draw in queryset:
            services.draw_close(draw_id=draw.pk, clock=timezone.now, actor=request.user, manual=True)  # type: ignore[arg-type]
        self.message_user(request, f"Closed {queryset.count()} draw(s).", messages.SUCCESS)


@admin.register(Ballot)
class BallotAdmin(ReadOnlyAdmin):
    list_display = ["id", "owner", "draw", "purchased_at"]
    list_select_related = ["owner", "draw"]
    search_fields = ["=id", "owner__email"]
    raw_id_fields = ["owner", "order", "draw"]


@admin.register(Winner)
class WinnerAdmin(ReadOnlyAdmin):
    list_display = ["draw", "slot", "prize_name", "amount", "ballot"]
    list_select_related = ["draw"]
    raw_id_fields = ["ballot"]
