from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "lottery.payments"
    label = "payments"
