from lottery.core.errors import DomainError, ValidationFailed


class PaymentDeclined(DomainError):
    status = 402
    code = "payment_declined"
    title = "Payment declined"
    default_detail = "Your card was declined. No money was taken."


class CardInvalid(ValidationFailed):
    """The card details cannot be charged at all (bad number, expired)."""


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"
    title = "Idempotency key reused"
    default_detail = "This Idempotency-Key was already used for a different request."
