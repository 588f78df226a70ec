"""Rate limits (docs/api.md, "Conventions"), per client IP and per target account, on the cache.

DRF's own throttle reads a request history and writes it back, so concurrent requests all
read the same history and all get through. These count in one atomic step instead
(`cache.add`, then `cache.incr`: Redis INCR), in fixed windows of the rate's period.
"""

import hashlib
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from .models import normalize_email


class _ScopedThrottle(SimpleRateThrottle):
    # Set by SimpleRateThrottle.__init__ from the rate (the stubs do not declare them).
    num_requests: int
    duration: int

    def key_for(self, request: Request, view: Any, ident: str) -> str:
        # Per endpoint: forgot-password and resend share a rate, not a counter.
        return f"throttle:{self.scope}:{type(view).__name__}:{ident}"

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends_at = (window + 1) * self.duration
        # The window's number is in the key, so a counter is never read after its window.
        key = f"{key}:{window}"
        if self.cache.add(key, 1, timeout=self.duration):
            count = 1
        else:
            try:
                count = self.cache.incr(key)
            except ValueError:  # gone between add and incr (expired or culled): start again
                count = 1 if self.cache.add(key, 1, timeout=self.duration) else self.cache.incr(key)
        return count <= self.num_requests

    def wait(self) -> float:
        return max(1.0, self.window_ends_at - self.now)


class _IPThrottle(_ScopedThrottle):
    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.key_for(request, view, self.get_ident(request))


class _AccountThrottle(_ScopedThrottle):
    def account_email(self, request: Request) -> object:
        data = request.data
        return data.get("email") if isinstance(data, dict) else None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        email = self.account_email(request)
        if not isinstance(email, str) or not email.strip():
            return None  # nothing to count against; the serializer will say what's missing
        # JSON may carry a lone surrogate ("\ud800"), which strict UTF-8 cannot encode.
        digest = hashlib.sha256(normalize_email(email).encode("utf-8", "surrogatepass")).hexdigest()
        return self.key_for(request, view, digest)


class SignupIPThrottle(_IPThrottle):
    scope = "signup_ip"


class SigninIPThrottle(_IPThrottle):
    scope = "signin_ip"


class SigninAccountThrottle(_AccountThrottle):
    scope = "signin_account"


class PasswordCheckAccountThrottle(_AccountThrottle):
    """Guesses of the current password by whoever holds a session or token, per account."""

    scope = "signin_account"

    def account_email(self, request: Request) -> object:
        user = getattr(request, "user", None)  # the pages pass the e-mail as data instead
        if user is not None and user.is_authenticated:
            return user.email
        return super().account_email(request)


class EmailIPThrottle(_IPThrottle):
    scope = "email_ip"


class EmailAccountThrottle(_AccountThrottle):
    scope = "email_account"
