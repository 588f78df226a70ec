"""Store every address in its normal form (lowercase, delivered IDNA domain).

Addresses typed into the admin kept their capitals before, so their owners could neither
sign in nor reset (sign-in looks the normal form up). An address whose normal form another
account already has is left as it is: two accounts cannot be merged by a migration; the
runbook's "duplicate mailbox" note says what staff do then.
"""

from django.db import migrations

from lottery.accounts.models import normalize_email


def normalize(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    # Uniqueness is case-insensitive (user_email_ci_unique): compare lowercased.
    holders = {email.lower(): pk for pk, email in User.objects.values_list("pk", "email")}
    for user in User.objects.only("pk", "email").iterator():
        normal = normalize_email(user.email)
        if normal == user.email or holders.get(normal.lower(), user.pk) != user.pk:
            continue
        User.objects.filter(pk=user.pk).update(email=normal)
        holders.pop(user.email.lower(), None)
        holders[normal.lower()] = user.pk


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_signup_attempt_and_sessions")]

    operations = [migrations.RunPython(normalize, migrations.RunPython.noop)]
