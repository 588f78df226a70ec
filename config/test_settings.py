"""Test-only overrides: a fast hasher, captured e-mail, eager tasks."""

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = False
LOTTERY_OPERATOR_TOKEN = "test-operator-token"  # noqa: S105
LOTTERY_BASE_URL = "http://testserver"
