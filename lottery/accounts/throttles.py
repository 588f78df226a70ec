"""Rate limits (API.md conventions), per client IP and per target account, on the cache."""

import hashlib
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from .models import normalize_email


class _ScopedThrottle(SimpleRateThrottle):
    def key_for(self, request: Request, view: Any, ident: str) -> str:
        # Per endpoint: forgot-password and resend share a rate, not a counter.
        return f"throttle:{self.scope}:{type(view).__name__}:{ident}"


class _IPThrottle(_ScopedThrottle):
    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.key_for(request, view, self.get_ident(request))


class _AccountThrottle(_ScopedThrottle):
    def get_cache_key(self, request: Request, view: Any) -> str | None:
        data = request.data
        email = data.get("email") if isinstance(data, dict) else None
        if not isinstance(email, str) or not email.strip():
            return None  # nothing to count against; the serializer will say what's missing
        digest = hashlib.sha256(normalize_email(email).encode()).hexdigest()
        return self.key_for(request, view, digest)


class SignupIPThrottle(_IPThrottle):
    scope = "signup_ip"


class SigninIPThrottle(_IPThrottle):
    scope = "signin_ip"


class SigninAccountThrottle(_AccountThrottle):
    scope = "signin_account"


class EmailIPThrottle(_IPThrottle):
    scope = "email_ip"


class EmailAccountThrottle(_AccountThrottle):
    scope = "email_account"
