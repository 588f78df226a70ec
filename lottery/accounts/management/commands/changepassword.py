"""`manage.py changepassword`: Django's prompts, then the credentials service (which signs
the account out everywhere and audits the change); it replaces django.contrib.auth's."""

from typing import Any

from django.contrib.auth.management.commands import changepassword
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from lottery.accounts.credentials import user_password_set
from lottery.accounts.models import User, normalize_email

MAX_TRIES = 3


class Command(changepassword.Command):
    help = "Change a user's password; their sessions and bearer tokens are revoked."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The e-mail address of the user.")

    def handle(self, *args: Any, **options: Any) -> str:
        email = options["username"]
        user = User.objects.filter(email=normalize_email(email)).first()
        if user is None:
            raise CommandError(f"user '{email}' does not exist")
        self.stdout.write(f"Changing password for user '{user}'")
        for _ in range(MAX_TRIES):
            password = self._get_pass()  # type: ignore[attr-defined]  # Django's, not in the stubs
            if password != self._get_pass("Password (again): "):  # type: ignore[attr-defined]
                self.stdout.write("Passwords do not match. Please try again.")
                continue
            try:
                validate_password(password, user)
            except ValidationError as err:
                self.stderr.write("\n".join(err.messages))
                continue
            user_password_set(
                user=user, password=password, actor=None, actor_label="manage.py changepassword"
            )
            return f"Password changed successfully for user '{user}'"
        raise CommandError(f"Aborting password change for user '{user}' after {MAX_TRIES} attempts")
