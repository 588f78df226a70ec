from rest_framework import serializers
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from lottery.core.api import UTCDateTimeField

from .models import User


def validate_iban(value: str) -> str:
    """A valid IBAN in electronic format (no spaces, upper case), or "" to clear it."""
    value = value.strip()
    if not value:
        return ""
    try:
        return IBAN(value).compact
    except (SchwiftyException, ValueError) as exc:
        raise serializers.ValidationError(f"Not a valid IBAN: {exc}") from exc


class UserSerializer(serializers.ModelSerializer[User]):
    email_verified = serializers.BooleanField(read_only=True)
    banned = serializers.BooleanField(read_only=True)
    date_joined = UTCDateTimeField(read_only=True)  # docs/api.md: datetimes in UTC, not the lottery's zone

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "name",
            "bank_account",
            "email_verified",
            "banned",
            "is_staff",
            "date_joined",
        ]
        read_only_fields = fields


class EmailField(serializers.EmailField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_length=254, **kwargs)  # type: ignore[arg-type]


class PasswordField(serializers.CharField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_length=4096, trim_whitespace=False, style={"input_type": "password"}, **kwargs)  # type: ignore[arg-type]
