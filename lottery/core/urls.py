from django.urls import path

from . import views
from .metrics import metrics_view

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("dev/mailbox", views.mailbox, name="dev-mailbox"),
    path("dev/mailbox.json", views.mailbox_json, name="dev-mailbox-json"),
]
