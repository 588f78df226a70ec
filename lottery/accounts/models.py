import contextlib
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


def normalize_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively: we store them lowercased, with the
    domain as mail is delivered to it (IDNA): a soft hyphen, a zero-width space or fullwidth
    letters in `example.org` are `example.org`, one mailbox and so one account."""
    local, at, domain = email.strip().lower().rpartition("@")
    with contextlib.suppress(UnicodeError):  # not deliverable: the address validators refuse it
        domain = domain.encode("idna").decode("idna")
    return f"{local}{at}{domain}"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> "User":
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        fields.setdefault("email_verified_at", timezone.now())
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(email=normalize_email(username or ""))


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150)
    bank_account = models.CharField("IBAN", max_length=34, blank=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    banned_at = models.DateTimeField(null=True, blank=True)
    ban_reason = models.CharField(max_length=500, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    @classmethod
    def normalize_username(cls, username: str) -> str:
        # Model validation (the admin's forms) stores the address as every lookup spells it.
        return normalize_email(super().normalize_username(username))

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def banned(self) -> bool:
        return self.banned_at is not None

    @property
    def public_name(self) -> str:
        """Privacy-preserving display name: first name and initial of the last ("Jane D.")."""
        parts = self.name.split()
        if not parts:
            return "Anonymous"
        if len(parts) == 1:
            return parts[0]
        return f"{parts[0]} {parts[-1][0].upper()}."


class SignupAttempt(models.Model):
    """The latest sign-up of a not yet verified address, until its e-mailed link is used.

    Signing up again replaces it (new key, password hash and name); the verification link
    is bound to the key, so only the newest link verifies, and it verifies with this
    attempt's password and name: whoever registered the address before never keeps access.
    """

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, primary_key=True, related_name="signup_attempt"
    )
    password = models.CharField(max_length=128)
    name = models.CharField(max_length=150)
    key = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"sign-up of {self.user_id} at {self.created_at:%Y-%m-%d %H:%M}"


class AccountSession(AbstractBaseSession):
    """Django's database session with the signed-in user's id beside it, so that a
    credentials change can delete the user's other sessions (`SESSION_ENGINE`
    lottery.accounts.sessions)."""

    user_id = models.BigIntegerField(null=True, db_index=True)

    @classmethod
    def get_session_store_class(cls) -> type:
        from .sessions import SessionStore

        return SessionStore
