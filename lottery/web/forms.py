"""HTML forms: shape and format checks at the edge only.

Every rule (password strength, who may buy, whether a draw accepts ballots, what a card
can pay) lives in the services; views hand the services' DomainError / ValidationFailed
back to these forms with `add_service_error`.
"""

import datetime as dt
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from rest_framework import serializers

from lottery.accounts.serializers import validate_iban
from lottery.core.errors import DomainError, ValidationFailed

PASSWORD_MAX = 4096


class ServiceErrorsMixin:
    """Put a service's refusal on the form: per-field messages where it names a field."""

    #: service error field name -> form field name (e.g. "payment.card_number" -> "card_number")
    service_field_map: dict[str, str] = {}
    #: service error code -> the form field it is about (e.g. "draw_closed" -> "draw")
    service_code_field_map: dict[str, str] = {}

    def add_service_error(self, exc: DomainError) -> None:
        form: forms.Form = self  # type: ignore[assignment]
        if isinstance(exc, ValidationFailed):
            for name, messages in exc.errors.items():
                field = self.service_field_map.get(name, name.rsplit(".", 1)[-1])
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
            return
        code_field = self.service_code_field_map.get(exc.code)
        form.add_error(code_field if code_field in form.fields else None, exc.detail)


def _password_field(label: str, autocomplete: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=PASSWORD_MAX,
        strip=False,
        help_text=help_text,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


def _email_field() -> forms.EmailField:
    return forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )


STRENGTH_HINT = "At least 8 characters; not a common or purely numeric password."


class SignupForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(
        label="Your name",
        max_length=150,
        help_text="Winners are shown as first name and initial, e.g. “Jane D.”.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = _email_field()
    password = _password_field("Password", "new-password", STRENGTH_HINT)


class SigninForm(ServiceErrorsMixin, forms.Form):
    email = _email_field()
    password = _password_field("Password", "current-password")
    next = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)


class EmailForm(ServiceErrorsMixin, forms.Form):
    email = _email_field()


class _NewPasswordPair(forms.Form):
    """A new password typed twice: whether they match is a question of typing, not a rule."""

    new_field = "password"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get(self.new_field), data.get(f"{self.new_field}2")
        if first and second and first != second:
            self.add_error(f"{self.new_field}2", "The two passwords do not match.")
        return data


class ResetPasswordForm(ServiceErrorsMixin, _NewPasswordPair):
    password = _password_field("New password", "new-password", STRENGTH_HINT)
    password2 = _password_field("New password again", "new-password")


class PasswordChangeForm(ServiceErrorsMixin, _NewPasswordPair):
    new_field = "new_password"
    service_field_map = {"password": "new_password"}

    current_password = _password_field("Current password", "current-password")
    new_password = _password_field("New password", "new-password", STRENGTH_HINT)
    new_password2 = _password_field("New password again", "new-password")


class ProfileForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(
        label="Name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    bank_account = forms.CharField(
        label="New IBAN",
        max_length=64,
        required=False,
        help_text="Where we pay your prizes. Leave empty to keep the current one.",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "e.g. NL91 ABNA 0417 1643 00"}
        ),
    )
    remove_bank_account = forms.BooleanField(label="Remove my bank account", required=False)

    def clean_bank_account(self) -> str:
        value = self.cleaned_data.get("bank_account", "")
        if not value.strip():
            return ""
        try:
            return validate_iban(value)
        except serializers.ValidationError as exc:
            raise forms.ValidationError([str(m) for m in exc.detail]) from exc


class BallotFilterForm(forms.Form):
    STATUS_CHOICES = [
        ("", "All"),
        ("unassigned", "Unassigned"),
        ("assigned", "In a draw"),
        ("won", "Won"),
        ("lost", "Not won"),
    ]
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)


def draw_choices(draws: list[Any], *, empty_label: str | None) -> list[tuple[str, str]]:
    choices = [("", empty_label)] if empty_label is not None else []
    for draw in draws:
        choices.append((draw.date.isoformat(), f"{draw.date:%a %d %b %Y} · {draw.type_name}"))
    return choices


class _DrawSelect(forms.Select):
    """Draw options come from the open draws; any date is passed on for the service to judge
    (a draw that closed since the page was shown gets the service's "draw closed")."""

    def format_value(self, value: Any) -> list[str]:
        if isinstance(value, dt.date):
            value = value.isoformat()
        return super().format_value(value)


class AssignForm(ServiceErrorsMixin, forms.Form):
    service_code_field_map = {"draw_closed": "draw", "draw_not_found": "draw"}
    draw = forms.DateField(label="Draw", widget=_DrawSelect, input_formats=["%Y-%m-%d"])

    def __init__(self, *args: Any, open_draws: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["draw"].widget.choices = draw_choices(open_draws, empty_label=None)


digits = RegexValidator(r"^[0-9]+$", "Use digits only.")


class BuyForm(ServiceErrorsMixin, forms.Form):
    service_field_map = {
        "payment.card_number": "card_number",
        "payment.expiry_month": "expiry_month",
        "payment.expiry_year": "expiry_year",
        "payment.cvc": "cvc",
        "draw": "draw",
        "quantity": "quantity",
    }
    service_code_field_map = {"draw_closed": "draw", "draw_not_found": "draw"}

    quantity = forms.IntegerField(
        label="Number of ballots",
        min_value=1,
        max_value=1000,
        initial=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    draw = forms.DateField(
        label="Draw",
        required=False,
        widget=_DrawSelect,
        input_formats=["%Y-%m-%d"],
        help_text="Put the new ballots into this draw now, or keep them to assign later.",
    )
    card_number = forms.RegexField(
        label="Card number",
        regex=r"^[0-9 ]{12,30}$",
        max_length=30,
        error_messages={"invalid": "Enter the card number: 12 to 19 digits, spaces allowed."},
        widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )
    expiry_month = forms.TypedChoiceField(
        label="Expiry month",
        coerce=int,
        choices=[("", "Month")] + [(str(m), f"{m:02d}") for m in range(1, 13)],
        widget=forms.Select(attrs={"autocomplete": "cc-exp-month"}),
    )
    expiry_year = forms.IntegerField(
        label="Expiry year",
        min_value=1000,
        max_value=9999,
        error_messages={
            "min_value": "Use four digits, e.g. 2030.",
            "max_value": "Use four digits, e.g. 2030.",
        },
        widget=forms.NumberInput(
            attrs={"autocomplete": "cc-exp-year", "inputmode": "numeric", "placeholder": "YYYY"}
        ),
    )
    cvc = forms.CharField(
        label="Security code (CVC)",
        min_length=3,
        max_length=4,
        validators=[digits],
        widget=forms.TextInput(attrs={"autocomplete": "cc-csc", "inputmode": "numeric"}),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=255)

    def __init__(self, *args: Any, open_draws: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["draw"].widget.choices = draw_choices(
            open_draws, empty_label="Keep them unassigned (assign later)"
        )

    def card_payload(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "card_number": data["card_number"].replace(" ", ""),
            "expiry_month": data["expiry_month"],
            "expiry_year": data["expiry_year"],
            "cvc": data["cvc"],
        }
