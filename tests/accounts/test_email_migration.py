"""The migration that brings stored addresses into their normal form."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("accounts", "0002_signup_attempt_and_sessions")]
AFTER = [("accounts", "0003_normalize_stored_emails")]


@pytest.mark.django_db(transaction=True)
def test_stored_addresses_take_their_normal_form_unless_another_account_has_it():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    User = executor.loader.project_state(BEFORE).apps.get_model("accounts", "User")
    typed = User.objects.create(email="Jane.Doe@Example.ORG", name="Jane", password="!")
    twin = User.objects.create(email="bob@xn--bcher-kva.example", name="Bob", password="!")
    clash = User.objects.create(email="BOB@bücher.example", name="Bob again", password="!")

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    User = executor.loader.project_state(AFTER).apps.get_model("accounts", "User")
    assert User.objects.get(pk=typed.pk).email == "jane.doe@example.org"
    # Both spell one mailbox: one account takes the normal form, the other is left for staff.
    emails = {User.objects.get(pk=twin.pk).email, User.objects.get(pk=clash.pk).email}
    assert "bob@bücher.example" in emails
    assert emails - {"bob@bücher.example"} <= {"bob@xn--bcher-kva.example", "BOB@bücher.example"}
    assert len(emails) == 2
