"""Domain errors: raised by services, mapped to problem+json in one place (problems.py)."""

from typing import ClassVar


class DomainError(Exception):
    """A business rule said no. `code` is the stable API error code."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "domain_error"
    title: ClassVar[str] = "Request refused"
    default_detail: ClassVar[str] = "The request was refused."

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


class InvalidToken(DomainError):
    code = "invalid_token"
    title = "Invalid token"
    default_detail = "This link is invalid, has expired or has already been used."


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"
    default_detail = "You are not allowed to do this."


class ValidationFailed(DomainError):
    """Input that only a service can judge (e.g. a password against its user) was rejected."""

    code = "validation_error"
    title = "Invalid input"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        first = next((msgs[0] for msgs in errors.values() if msgs), "Invalid input.")
        super().__init__(first)
