"""gunicorn's access log without the one-time tokens that e-mailed links carry in their path."""

import re
from typing import Any

from gunicorn.glogging import Logger

_TOKEN_PATH = re.compile(r"^/(verify-email|reset-password)/[^/?\s]+")


def redact_path(path: str) -> str:
    """/verify-email/<token> → /verify-email/[redacted] (and the same for reset links)."""
    return _TOKEN_PATH.sub(lambda match: f"/{match.group(1)}/[redacted]", path)


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact_path(atoms[key]) if key == "U" else _redact_request_line(atoms[key])
        return atoms


def _redact_request_line(line: str) -> str:
    method, _, rest = line.partition(" ")
    return f"{method} {redact_path(rest)}" if rest else line
