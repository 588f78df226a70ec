"""Absolute links put into e-mails: stable page URLs (docs/api.md)."""

from django.conf import settings


def verify_email_url(token: str) -> str:
    return f"{settings.LOTTERY_BASE_URL}/verify-email/{token}"


def reset_password_url(token: str) -> str:
    return f"{settings.LOTTERY_BASE_URL}/reset-password/{token}"


def signin_url() -> str:
    return f"{settings.LOTTERY_BASE_URL}/signin"


def forgot_password_url() -> str:
    return f"{settings.LOTTERY_BASE_URL}/forgot-password"
