from lottery.core.errors import DomainError


class InvalidCredentials(DomainError):
    status = 401
    code = "invalid_credentials"
    title = "Invalid credentials"
    default_detail = "The e-mail address or password is wrong."


class WrongCurrentPassword(InvalidCredentials):
    status = 403
    default_detail = "The current password is wrong."


class EmailNotVerified(DomainError):
    status = 403
    code = "email_not_verified"
    title = "E-mail not verified"
    default_detail = "Please confirm your e-mail address first: we sent you a link."


class AccountBanned(DomainError):
    status = 403
    code = "account_banned"
    title = "Account banned"
    default_detail = "This account has been banned and cannot buy or assign ballots."


class UserNotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"
    default_detail = "No such user."
