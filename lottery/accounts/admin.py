from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services
from .models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["-date_joined"]
    list_display = ["email", "name", "email_verified_at", "banned_at", "is_staff", "date_joined"]
    list_filter = ["is_staff", "is_active", ("banned_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "name"]
    readonly_fields = ["date_joined", "last_login", "banned_at", "ban_reason"]
    actions = ["ban_users", "unban_users"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "bank_account", "email_verified_at")}),
        ("Ban", {"fields": ("banned_at", "ban_reason")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)

    @admin.action(description="Ban selected users (they keep ballots already in draws)")
    def ban_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.user_ban(user=user, actor=request.user, reason="banned from the admin")  # type: ignore[arg-type]
        self.message_user(request, f"Banned {queryset.count()} user(s).", messages.SUCCESS)

    @admin.action(description="Unban selected users")
    def unban_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.user_unban(user=user, actor=request.user)  # type: ignore[arg-type]
        self.message_user(request, f"Unbanned {queryset.count()} user(s).", messages.SUCCESS)
