from lottery.core.errors import DomainError


class DrawNotFound(DomainError):
    status = 404
    code = "draw_not_found"
    title = "Draw not found"
    default_detail = "There is no draw on this date."


class DrawClosed(DomainError):
    status = 409
    code = "draw_closed"
    title = "Draw closed"
    default_detail = "This draw no longer accepts ballots."


class DrawOpen(DomainError):
    status = 409
    code = "draw_open"
    title = "Draw still open"
    default_detail = "The ballot list is published once the draw closes."


class BallotNotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"
    default_detail = "You have no ballot with this id."


class AlreadyAssigned(DomainError):
    status = 409
    code = "already_assigned"
    title = "Ballot already assigned"
    default_detail = "This ballot is already in a draw."


class DrawBusy(DomainError):
    status = 503
    code = "busy"
    title = "Busy"
    default_detail = "The draw is busy right now; please retry in a moment."
