"""Log records never carry the one-time tokens of e-mailed links (docs/threat-model.md).

Django logs the path of every refused request: a reset form posted without its CSRF cookie
logs `Forbidden (CSRF cookie not set.): /reset-password/<token>` while the token is still
valid, and the JSON formatter also writes the record's `request` (its repr holds the path).
Whoever reads the logs could then set the account's password. This filter, on the handler,
redacts such paths in the message and in the request.
"""

import logging
import re

_LINK = re.compile(r"/(verify-email|reset-password)/[^/\s'\"]+")


def redact_links(text: str) -> str:
    """…/reset-password/<token> → …/reset-password/[redacted] (and the same for verification)."""
    return _LINK.sub(lambda match: f"/{match.group(1)}/[redacted]", text)


class OneTimeLinkFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_links(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        request = getattr(record, "request", None)
        if request is not None and _LINK.search(repr(request)):
            record.request = redact_links(repr(request))
        return True
