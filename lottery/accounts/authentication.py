from hmac import compare_digest

from django.db import connection
from django.utils import timezone
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework import exceptions

from lottery.core.rawsql import columns, model_from_row

from .models import User


class BearerTokenAuthentication(TokenAuthentication):
    """`Authorization: Bearer <token>`; tokens are stored hashed by knox and revocable.

    One query per request (the token with its user), written out: every API call pays
    for it, and the ORM's building of it cost three times the query (docs/performance.md).
    Knox's own check also sweeps every other token of the user on each request; expired
    tokens are purged by the periodic `auth_tokens_purge_expired` instead, and an expired
    token is refused here regardless.
    """

    def authenticate_credentials(self, token: bytes) -> tuple[object, AuthToken]:
        failed = exceptions.AuthenticationFailed("Invalid token.")
        try:
            text = token.decode("ascii")
            digest = hash_token(text)
        except (UnicodeDecodeError, ValueError, TypeError) as exc:
            raise failed from exc
        with connection.cursor() as cursor:
            cursor.execute(
                # The column lists come from the models, not from the request.
                f"SELECT {columns(AuthToken, 't')}, {columns(User, 'u')} FROM knox_authtoken t "  # noqa: S608
                "JOIN accounts_user u ON u.id = t.user_id WHERE t.token_key = %s",
                [text[: CONSTANTS.TOKEN_KEY_LENGTH]],
            )
            rows = cursor.fetchall()
        width = len(AuthToken._meta.concrete_fields)
        for row in rows:
            auth_token = model_from_row(AuthToken, row[:width])
            if compare_digest(digest, auth_token.digest):
                if auth_token.expiry is not None and auth_token.expiry < timezone.now():
                    raise failed
                auth_token.user = model_from_row(User, row[width:])
                return self.validate_user(auth_token)
        raise failed
