"""The Celery application. Without a broker configured, tasks run eagerly in-process."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("lottery")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule_periodic_tasks(sender: Celery, **kwargs: object) -> None:
    from lottery.core.periodic import beat_schedule

    sender.conf.beat_schedule = beat_schedule()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _fresh_database_connections(**kwargs: object) -> None:
    # A connection that died (PostgreSQL restart, idle timeout) is dropped before and
    # after each task instead of failing the next one.
    from django.db import close_old_connections

    close_old_connections()


@signals.setup_logging.connect
def _use_django_logging(**kwargs: object) -> None:
    # Keep Celery from replacing our handlers: worker and beat log JSON lines with request ids too.
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
