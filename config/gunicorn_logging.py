"""gunicorn's access log: one JSON object per request, built by json.dumps.

gunicorn fills a format string with what the request sent, so a User-Agent, path or query
holding `"`, `\\` or a newline wrote a line that was not JSON, which log pipelines drop.
Here each line is serialized as a whole, and the one-time tokens that e-mailed links carry in
their path are redacted.
"""

import json
import re
from typing import Any

from gunicorn.glogging import Logger

_TOKEN_PATH = re.compile(r"^/(verify-email|reset-password)/[^/]+")


def redact_path(path: str) -> str:
    """/verify-email/<token> → /verify-email/[redacted] (and the same for reset links)."""
    return _TOKEN_PATH.sub(lambda match: f"/{match.group(1)}/[redacted]", path)


def _text(value: str) -> str:
    """A WSGI string (bytes as Latin-1) as the UTF-8 text the client meant; bytes that are
    not UTF-8 are kept as \\x escapes."""
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        return value
    return raw.decode("utf-8", errors="backslashreplace")


class JsonAccessLogger(Logger):
    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        request_id = next((v for k, v in resp.headers if k.lower() == "x-request-id"), "-")
        entry = {
            "event": "access",
            "remote": environ.get("REMOTE_ADDR", "-"),
            "method": environ.get("REQUEST_METHOD"),
            "path": redact_path(_text(environ.get("PATH_INFO", ""))),
            "query": _text(environ.get("QUERY_STRING", "")),
            "status": getattr(resp, "status_code", None),  # none if the app never started one
            "bytes": resp.sent,
            "duration_ms": request_time.seconds * 1000 + request_time.microseconds // 1000,
            "request_id": _text(request_id),
            "user_agent": _text(environ.get("HTTP_USER_AGENT", "-")),
        }
        self.access_log.info("%s", json.dumps(entry))
