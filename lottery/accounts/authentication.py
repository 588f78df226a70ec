from hmac import compare_digest

from django.utils import timezone
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework import exceptions


class BearerTokenAuthentication(TokenAuthentication):
    """`Authorization: Bearer <token>`; tokens are stored hashed by knox and revocable.

    One query per request (the token with its user). Knox's own check also sweeps every
    other token of the user on each request; expired tokens are purged by the periodic
    `auth_tokens_purge_expired` instead, and an expired token is refused here regardless.
    """

    def authenticate_credentials(self, token: bytes) -> tuple[object, AuthToken]:
        failed = exceptions.AuthenticationFailed("Invalid token.")
        try:
            text = token.decode("ascii")
            digest = hash_token(text)
        except (UnicodeDecodeError, ValueError, TypeError) as exc:
            raise failed from exc
        candidates = AuthToken.objects.filter(token_key=text[: CONSTANTS.TOKEN_KEY_LENGTH]).select_related(
            "user"
        )
        for auth_token in candidates:
            if compare_digest(digest, auth_token.digest):
                if auth_token.expiry is not None and auth_token.expiry < timezone.now():
                    raise failed
                return self.validate_user(auth_token)
        raise failed
