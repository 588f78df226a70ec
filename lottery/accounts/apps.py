from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "lottery.accounts"
    label = "accounts"

    def ready(self) -> None:
        from knox.models import AuthToken

        # knox names a token by its digest, and Django prints that name wherever it lists
        # an object: the admin's delete confirmation, its history (LogEntry.object_repr),
        # messages. A digest is a secret field (lottery/core/secrets.py): name the owner only.
        AuthToken.__str__ = _token_name


def _token_name(token: object) -> str:
    return f"bearer token of {getattr(token, 'user', '?')}"
