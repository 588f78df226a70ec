"""Account rules: sign-up without enumeration, verification, sign-in, passwords, bans."""

import uuid
from datetime import datetime

from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from lottery.core.audit import audit_log
from lottery.core.errors import InvalidToken, ValidationFailed
from lottery.core.outbox import outbox_enqueue

from . import tokens
from .errors import AccountBanned, EmailNotVerified, InvalidCredentials, WrongCurrentPassword
from .models import User, normalize_email
from .urls_public import forgot_password_url, reset_password_url, signin_url, verify_email_url


def _event_key(kind: str, user: User) -> str:
    # Each request is its own event: a resend is a new e-mail, a retry of one is not.
    return f"{kind}:{user.pk}:{uuid.uuid4().hex}"


def _password_errors(password: str, user: User, field: str = "password") -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed({field: list(exc.messages)}) from exc


def _send_verification(user: User) -> None:
    outbox_enqueue(
        key=_event_key("verify-email", user),
        to=user.email,
        template="verify_email",
        context={"name": user.name, "link": verify_email_url(tokens.email_verification_token(user))},
    )


def user_signup(*, email: str, password: str, name: str) -> None:
    """Register, or mail the existing owner: the caller sees the same outcome either way."""
    email = normalize_email(email)
    candidate = User(email=email, name=name)
    _password_errors(password, candidate)
    # Hash in both branches so the response time does not tell which one ran.
    password_hash = make_password(password)
    with transaction.atomic():
        existing = User.objects.filter(email=email).first()
        if existing is not None:
            verify_link = (
                None
                if existing.email_verified
                else verify_email_url(tokens.email_verification_token(existing))
            )
            outbox_enqueue(
                key=_event_key("signup-existing", existing),
                to=existing.email,
                template="already_registered",
                context={
                    "name": existing.name,
                    "signin_link": signin_url(),
                    "forgot_link": forgot_password_url(),
                    "verify_link": verify_link,
                },
            )
            return
        candidate.password = password_hash
        candidate.save()
        _send_verification(candidate)


def user_verify_email(*, token: str, now: datetime | None = None) -> User:
    with transaction.atomic():
        user = tokens.email_verification_user(token)
        if user is None:
            raise InvalidToken()
        # Claim by conditional update: of two concurrent uses of one token, one wins.
        claimed = User.objects.filter(pk=user.pk, email_verified_at__isnull=True).update(
            email_verified_at=now or timezone.now()
        )
        if not claimed:
            raise InvalidToken()
    user.refresh_from_db()
    return user


def user_resend_verification(*, email: str) -> None:
    with transaction.atomic():
        user = User.objects.filter(email=normalize_email(email), is_active=True).first()
        if user is not None and not user.email_verified:
            _send_verification(user)


def user_authenticate(*, email: str, password: str) -> User:
    """The user these credentials belong to; unverified users are told only after the password matched."""
    user = authenticate(username=normalize_email(email), password=password)
    if not isinstance(user, User):
        raise InvalidCredentials()
    if not user.email_verified:
        raise EmailNotVerified()
    return user


def auth_token_create(*, user: User) -> str:
    """A new bearer token; only its hash is stored."""
    _instance, token = AuthToken.objects.create(user=user)
    return token


def auth_token_revoke(*, token: AuthToken) -> None:
    token.delete()


def auth_tokens_purge_expired(*, now: datetime) -> int:
    """Delete expired bearer tokens (they are refused anyway; this keeps the table small)."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=now).delete()
    return deleted


def user_password_forgot(*, email: str) -> None:
    with transaction.atomic():
        user = User.objects.filter(email=normalize_email(email), is_active=True).first()
        if user is None:
            return
        outbox_enqueue(
            key=_event_key("password-reset", user),
            to=user.email,
            template="password_reset",
            context={"name": user.name, "link": reset_password_url(tokens.password_reset_token(user))},
        )


def user_password_reset(*, token: str, password: str) -> User:
    """Set a new password and sign the user out everywhere (tokens deleted, sessions void)."""
    with transaction.atomic():
        user = tokens.password_reset_user(token)
        if user is None:
            raise InvalidToken()
        user = User.objects.select_for_update().get(pk=user.pk)
        if not tokens.password_reset_user(token):  # re-check under the lock: single use
            raise InvalidToken()
        _password_errors(password, user)
        user.set_password(password)
        # Whoever can read the mailbox owns the address: a reset also proves it.
        if user.email_verified_at is None:
            user.email_verified_at = timezone.now()
        user.save(update_fields=["password", "email_verified_at"])
        # Sessions die with the old password hash (Django checks it on every request).
        AuthToken.objects.filter(user=user).delete()
    return user


def user_password_change(
    *, user: User, current_password: str, new_password: str, keep_token: AuthToken | None = None
) -> None:
    """Change the password; every other bearer token is revoked."""
    if not user.check_password(current_password):
        raise WrongCurrentPassword()
    _password_errors(new_password, user, field="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        others = AuthToken.objects.filter(user=user)
        if keep_token is not None:
            others = others.exclude(pk=keep_token.pk)
        others.delete()


def user_update_profile(*, user: User, name: str | None = None, bank_account: str | None = None) -> User:
    fields = []
    if name is not None:
        user.name = name
        fields.append("name")
    if bank_account is not None:
        user.bank_account = bank_account
        fields.append("bank_account")
    if fields:
        user.save(update_fields=fields)
    return user


def user_ban(*, user: User, actor: User | None, reason: str = "", now: datetime | None = None) -> User:
    """Ban from buying and assigning. Ballots already in open draws stay in them."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.banned_at is None:
            user.banned_at = now or timezone.now()
            user.ban_reason = reason
            user.save(update_fields=["banned_at", "ban_reason"])
            audit_log(action="user.banned", obj=user, actor=actor, data={"reason": reason})
    return user


def user_unban(*, user: User, actor: User | None) -> User:
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.banned_at is not None:
            user.banned_at = None
            user.ban_reason = ""
            user.save(update_fields=["banned_at", "ban_reason"])
            audit_log(action="user.unbanned", obj=user, actor=actor)
    return user


def user_assert_can_play(*, user: User) -> None:
    """Only verified, non-banned users buy or assign ballots."""
    if not user.email_verified:
        raise EmailNotVerified()
    if user.banned:
        raise AccountBanned()
