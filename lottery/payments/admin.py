from django.contrib import admin

from lottery.core.admin import ReadOnlyAdmin

from .models import Order


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "user",
        "quantity",
        "amount",
        "currency",
        "draw",
        "card_last4",
        "capture_status",
        "created_at",
    ]
    list_filter = ["capture_status"]
    list_select_related = ["user", "draw"]
    search_fields = ["=id", "user__email", "charge_reference"]
    raw_id_fields = ["user", "draw"]
