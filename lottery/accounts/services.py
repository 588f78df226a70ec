"""Account rules: sign-up without enumeration, verification, sign-in, passwords, bans."""

import secrets
import uuid
from datetime import datetime

from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from knox.models import AuthToken

from lottery.core.audit import audit_log
from lottery.core.errors import InvalidToken, ValidationFailed
from lottery.core.outbox import outbox_enqueue

from . import tokens
from .credentials import password_validate, security_notice_send, user_credentials_replace, user_password_set
from .errors import AccountBanned, EmailNotVerified, InvalidCredentials, WrongCurrentPassword
from .models import SignupAttempt, User, normalize_email
from .urls_public import forgot_password_url, reset_password_url, signin_url, verify_email_url


def _event_key(kind: str, user: User) -> str:
    # Each request is its own event: a resend is a new e-mail, a retry of one is not.
    return f"{kind}:{user.pk}:{uuid.uuid4().hex}"


def _send_verification(user: User, *, restarted: bool = False) -> None:
    outbox_enqueue(
        key=_event_key("verify-email", user),
        to=user.email,
        template="verify_email",
        context={
            "name": user.name,
            "link": verify_email_url(tokens.email_verification_token(user)),
            "restarted": restarted,
        },
    )


def _signup_attempt_start(*, user: User, password_hash: str, name: str) -> None:
    """This sign-up replaces any earlier one of the address: only its link will verify."""
    SignupAttempt.objects.update_or_create(
        user=user,
        defaults={
            "password": password_hash,
            "name": name,
            "key": secrets.token_urlsafe(24),
            "created_at": timezone.now(),
        },
    )


def _user_create_or_lock(*, email: str, name: str, password_hash: str) -> tuple[User, bool]:
    """The new account, or — when a concurrent sign-up of the address won — that one, locked."""
    try:
        with transaction.atomic():
            return User.objects.create(email=email, name=name, password=password_hash), True
    except IntegrityError:
        return User.objects.select_for_update().get(email=email), False


def user_signup(*, email: str, password: str, name: str) -> None:
    """Register, restart an unverified sign-up, or mail the verified owner: the caller sees
    the same outcome whichever ran."""
    email = normalize_email(email)
    password_validate(password=password, user=User(email=email, name=name))
    # Hash in every branch so the response time does not tell which one ran.
    password_hash = make_password(password)
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email=email).first()
        created = False
        if user is None:
            user, created = _user_create_or_lock(email=email, name=name, password_hash=password_hash)
        if user.email_verified:
            outbox_enqueue(
                key=_event_key("signup-existing", user),
                to=user.email,
                template="already_registered",
                context={
                    "name": user.name,
                    "signin_link": signin_url(),
                    "forgot_link": forgot_password_url(),
                },
            )
            return
        _signup_attempt_start(user=user, password_hash=password_hash, name=name)
        _send_verification(user, restarted=not created)


def user_verify_email(*, token: str) -> User:
    """Verify the address with the latest sign-up's password and name (pre-account-hijacking:
    an earlier sign-up's password, sessions and tokens stop working)."""
    with transaction.atomic():
        user = tokens.email_verification_user(token)
        if user is None:
            raise InvalidToken()
        user = User.objects.select_for_update().get(pk=user.pk)
        # Re-checked under the lock: single use, and still the latest sign-up's link.
        if tokens.email_verification_user(token) is None:
            raise InvalidToken()
        attempt = SignupAttempt.objects.filter(user_id=user.pk).first()
        return user_credentials_replace(
            user=user,
            password_hash=attempt.password if attempt else user.password,
            name=attempt.name if attempt else None,
            mailbox_proven=True,
            actor=user,
        )


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
    """Set a new password and sign the user out everywhere. Whoever reads the mailbox owns
    the address, so a reset also verifies it (and drops what an unverified account held)."""
    with transaction.atomic():
        user = tokens.password_reset_user(token)
        if user is None:
            raise InvalidToken()
        user = User.objects.select_for_update().get(pk=user.pk)
        if not tokens.password_reset_user(token):  # re-check under the lock: single use
            raise InvalidToken()
        return user_password_set(user=user, password=password, actor=user, mailbox_proven=True)


def user_password_change(
    *,
    user: User,
    current_password: str,
    new_password: str,
    keep_session_key: str | None = None,
    keep_token: AuthToken | None = None,
) -> User:
    """Change the password; every other session and bearer token is revoked."""
    if not user.check_password(current_password):
        raise WrongCurrentPassword()
    try:
        return user_password_set(
            user=user,
            password=new_password,
            actor=user,
            keep_session_key=keep_session_key,
            keep_token=keep_token,
        )
    except ValidationFailed as exc:
        raise ValidationFailed({"new_password": exc.errors["password"]}) from exc


def user_update_profile(*, user: User, name: str | None = None, bank_account: str | None = None) -> User:
    """Rename, or set/clear the prize IBAN (the owner is mailed about a new bank account)."""
    fields = []
    if name is not None:
        user.name = name
        fields.append("name")
    bank_account_changed = False
    if bank_account is not None and bank_account != user.bank_account:
        bank_account_changed = True
        user.bank_account = bank_account
        fields.append("bank_account")
    with transaction.atomic():
        if fields:
            user.save(update_fields=fields)
        if bank_account_changed:
            audit_log(
                action="user.bank_account_changed", obj=user, actor=user, data={"set": bool(bank_account)}
            )
            security_notice_send(
                user=user, notice="bank_account_changed", context={"iban_end": user.bank_account[-4:]}
            )
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
