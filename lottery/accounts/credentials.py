"""Credentials change in one place (docs/threat-model.md).

Every path that changes a password — reset, `/me/password`, the pages, the admin,
`manage.py changepassword` — or takes over a not yet verified account (its sign-up link
used, or a reset of it) goes through `user_credentials_replace`. It revokes the account's
other sessions and bearer tokens, audits the change and mails the owner. A test keeps any
other code from setting a password.
"""

import uuid
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from lottery.core.audit import audit_log
from lottery.core.errors import ValidationFailed
from lottery.core.outbox import outbox_enqueue

from .models import AccountSession, SignupAttempt, User
from .urls_public import forgot_password_url


def password_validate(*, password: str, user: User, field: str = "password") -> None:
    """Django's password validators, as a domain error naming `field`."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed({field: list(exc.messages)}) from exc


def user_password_set(
    *,
    user: User,
    password: str | None,
    actor: User | None,
    actor_label: str = "",
    mailbox_proven: bool = False,
    keep_session_key: str | None = None,
    keep_token: AuthToken | None = None,
) -> User:
    """Set `password` (None: no password sign-in at all) through `user_credentials_replace`."""
    if password is not None:
        password_validate(password=password, user=user)
    return user_credentials_replace(
        user=user,
        password_hash=make_password(password),
        actor=actor,
        actor_label=actor_label,
        mailbox_proven=mailbox_proven,
        keep_session_key=keep_session_key,
        keep_token=keep_token,
    )


def user_credentials_replace(
    *,
    user: User,
    password_hash: str,
    actor: User | None,
    actor_label: str = "",
    name: str | None = None,
    mailbox_proven: bool = False,
    keep_session_key: str | None = None,
    keep_token: AuthToken | None = None,
) -> User:
    """Make `password_hash` the account's password and sign it out everywhere else.

    `mailbox_proven`: the caller came through a link mailed to the address (a sign-up
    link, a reset), so an unverified account is verified now and belongs to this password
    alone — its pending sign-up and anything set on it before are dropped. Only the owner's
    own change keeps a session or token (the one that made it). `user` is refreshed.
    """
    own_change = actor is not None and actor.pk == user.pk
    if not own_change:
        keep_session_key = keep_token = None
    now = timezone.now()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        password_changed = locked.password != password_hash
        locked.password = password_hash
        fields = ["password"]
        if name is not None:
            locked.name = name
            fields.append("name")
        verified_now = mailbox_proven and locked.email_verified_at is None
        if verified_now:
            locked.email_verified_at = now
            # Until now nobody had proven they own the address: nothing set on the account
            # before may stay (only staff could set an IBAN on an unverified account).
            locked.bank_account = ""
            fields += ["email_verified_at", "bank_account"]
            SignupAttempt.objects.filter(user_id=locked.pk).delete()
        locked.save(update_fields=fields)
        tokens = AuthToken.objects.filter(user_id=locked.pk)
        if keep_token is not None:
            tokens = tokens.exclude(pk=keep_token.pk)
        tokens_revoked, _ = tokens.delete()
        # Django refuses a session whose password hash is stale anyway; deleting the rows
        # also ends sessions that a change keeping the same hash (a verification) leaves.
        sessions = AccountSession.objects.filter(user_id=locked.pk)
        if keep_session_key is not None:
            sessions = sessions.exclude(session_key=keep_session_key)
        sessions_revoked, _ = sessions.delete()
        audit_log(
            action="user.email_verified" if verified_now else "user.password_changed",
            obj=locked,
            actor=actor,
            actor_label=actor_label,
            at=now,
            data={
                "password_changed": password_changed,
                "tokens_revoked": tokens_revoked,
                "sessions_revoked": sessions_revoked,
            },
        )
        by = "you" if own_change else ("a member of staff" if actor is not None else "an operator")
        if verified_now:
            security_notice_send(user=locked, notice="email_verified", context={"by": by})
        elif password_changed:
            security_notice_send(user=locked, notice="password_changed", context={"by": by})
    user.refresh_from_db()
    return user


def security_notice_send(*, user: User, notice: str, context: dict[str, Any] | None = None) -> None:
    """Tell the owner about a change to their account's security (`emails/<notice>`)."""
    outbox_enqueue(
        key=f"{notice}:{user.pk}:{uuid.uuid4().hex}",
        to=user.email,
        template=notice,
        context={
            "name": user.name,
            "at": timezone.now(),
            "forgot_link": forgot_password_url(),
            **(context or {}),
        },
    )
