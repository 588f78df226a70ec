from django.urls import path

from . import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("dev/mailbox", views.mailbox, name="dev-mailbox"),
    path("dev/mailbox.json", views.mailbox_json, name="dev-mailbox-json"),
]
