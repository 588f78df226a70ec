import copy
from functools import partial
from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse

from lottery.core.admin import SecretFieldsAdmin

from . import credentials, services
from .models import User


def _password_of(form: AdminPasswordChangeForm | AdminUserCreationForm) -> str | None:
    """The password the form asks for; None when it disables password sign-in."""
    return form.cleaned_data["password1"] if form.cleaned_data["set_usable_password"] else None


class StaffPasswordChangeForm(AdminPasswordChangeForm):
    """The admin's "change password" form, saving through the credentials service."""

    def __init__(self, user: User, *args: Any, actor: User, session_key: str | None, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.actor = actor
        self.session_key = session_key

    def save(self, commit: bool = True) -> User:
        return credentials.user_password_set(
            user=self.user, password=_password_of(self), actor=self.actor, keep_session_key=self.session_key
        )


class StaffUserCreationForm(AdminUserCreationForm):
    """The admin's "add user" form; UserAdmin.save_model sets the password, through the service."""

    def set_password_and_save(self, user: User, commit: bool = True, **kwargs: Any) -> User:
        return user


@admin.register(User)
class UserAdmin(SecretFieldsAdmin, DjangoUserAdmin):
    ordering = ["-date_joined"]
    list_display = ["email", "name", "email_verified_at", "banned_at", "is_staff", "date_joined"]
    list_filter = ["is_staff", "is_active", ("banned_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "name"]
    # The IBAN and the verification are the owner's: set by them (with a security e-mail) or
    # by a link to their mailbox, never by staff (a prize paid to someone else's account).
    readonly_fields = [
        "date_joined",
        "last_login",
        "banned_at",
        "ban_reason",
        "bank_account",
        "email_verified_at",
    ]
    actions = ["ban_users", "unban_users"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "bank_account", "email_verified_at")}),
        ("Ban", {"fields": ("banned_at", "ban_reason")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)
    add_form = StaffUserCreationForm

    # Who may grant privileges or change the address a password reset goes to is a
    # superuser's call: a staff member allowed to change users could otherwise make
    # themselves superuser, or move a superuser's e-mail to their own and reset it.
    PRIVILEGED_FIELDS = ("email", "is_active", "is_staff", "is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not request.user.is_superuser:
            fields += [name for name in self.PRIVILEGED_FIELDS if name not in fields]
        return fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only a superuser changes a superuser (their password included).
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        # Django builds the form as `change_password_form(user, data)`: bind who is acting.
        view = copy.copy(self)
        view.change_password_form = partial(
            StaffPasswordChangeForm, actor=cast(User, request.user), session_key=request.session.session_key
        )
        return super(UserAdmin, view).user_change_password(request, id, form_url)

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            credentials.user_password_set(user=obj, password=_password_of(form), actor=request.user)  # type: ignore[arg-type]

    @admin.action(
        description="Ban selected users (they keep ballots already in draws)", permissions=["change"]
    )
    def ban_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.user_ban(user=user, actor=request.user, reason="banned from the admin")  # type: ignore[arg-type]
        self.message_user(request, f"Banned {queryset.count()} user(s).", messages.SUCCESS)

    @admin.action(description="Unban selected users", permissions=["change"])
    def unban_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.user_unban(user=user, actor=request.user)  # type: ignore[arg-type]
        self.message_user(request, f"Unbanned {queryset.count()} user(s).", messages.SUCCESS)
