"""The e-mailed one-time tokens, built on Django's own signing primitives.

Both are the last path segment of a link and use only `A-Z a-z 0-9 - _ : .`.
"""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from .models import SignupAttempt, User

_VERIFY_SALT = "lottery.accounts.verify-email"


def email_verification_token(user: User) -> str:
    """Signed, timestamped `<user id>.<tag>`, the tag binding it to the address and to the
    account's latest sign-up. Single use: verifying flips the state it checks."""
    return signing.TimestampSigner(salt=_VERIFY_SALT).sign(f"{user.pk}.{_attempt_tag(user)}")


def email_verification_user(token: str) -> User | None:
    """The unverified user a still-valid token of their latest sign-up belongs to, else None."""
    try:
        value = signing.TimestampSigner(salt=_VERIFY_SALT).unsign(
            token, max_age=settings.LOTTERY_EMAIL_VERIFICATION_MAX_AGE
        )
        pk, tag = value.split(".", 1)
        user = User.objects.get(pk=int(pk))
    except (signing.BadSignature, ValueError, OverflowError, User.DoesNotExist):
        return None
    if user.email_verified or not constant_time_compare(tag, _attempt_tag(user)):
        return None
    return user


def _attempt_tag(user: User) -> str:
    # Signing up again gives the attempt a new key: every link mailed before stops working.
    # An account with no attempt (created by staff) verifies with the password it has.
    key = SignupAttempt.objects.filter(user_id=user.pk).values_list("key", flat=True).first() or ""
    return signing.Signer(salt=_VERIFY_SALT + ".attempt").signature(f"{user.email}\n{key}")[:16]


_reset_tokens = PasswordResetTokenGenerator()


def password_reset_token(user: User) -> str:
    """`<uid>.<Django reset token>`: expires after PASSWORD_RESET_TIMEOUT, void once used."""
    return f"{urlsafe_base64_encode(force_bytes(user.pk))}.{_reset_tokens.make_token(user)}"


def password_reset_user(token: str) -> User | None:
    try:
        uidb64, reset_token = token.split(".", 1)
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        return None
    return user if _reset_tokens.check_token(user, reset_token) else None
