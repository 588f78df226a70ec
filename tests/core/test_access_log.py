"""gunicorn's access log, through a real gunicorn with our config: every line is JSON whatever
the request holds, and one-time tokens stay out of it."""

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config.gunicorn_logging import redact_path

ROOT = Path(__file__).resolve().parents[2]
RESPONSE_REQUEST_ID = 'id "quoted" \\ backslash'


def hostile_app(environ, start_response):  # type: ignore[no-untyped-def]
    """What gunicorn serves here: any request is a 200 with an awkward X-Request-ID."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Request-ID", RESPONSE_REQUEST_ID)])
    return [b"ok"]


# (raw request line target, raw User-Agent) → what the line must record
HOSTILE = [
    (
        b'/a%22b%5Cc%0Ad%FF?q="x\\y',
        b'ev"il\\ \xff\xfe ua',
        '/a"b\\c\nd\\xff',
        'q="x\\y',
        'ev"il\\ \\xff\\xfe ua',
    ),
    (b"/p?%0A%22&raw%FF", b"caf\xc3\xa9\t}", "/p", "%0A%22&raw%FF", "caf\u00e9\t}"),
    (b"/verify-email/SECRET-TOKEN.1:x", b"-", "/verify-email/[redacted]", "", "-"),
    (b"/reset-password/SECRET-TOKEN%0Atail?", b"-", "/reset-password/[redacted]", "", "-"),
]


@pytest.fixture
def gunicorn():
    """gunicorn with config/gunicorn.py, one worker, on a free loopback port."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn"),
            *("--bind", "127.0.0.1:0", "--workers", "1", "tests.core.test_access_log:hostile_app"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline:
            line = process.stderr.readline().decode()
            assert line or process.poll() is None, "gunicorn exited"
            if match := re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line):
                port = int(match.group(1))
        assert port, "gunicorn did not start"
        yield process, port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_every_access_line_is_json_whatever_the_request_holds(gunicorn):
    process, port = gunicorn
    for target, user_agent, *_ in HOSTILE:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nUser-Agent: " + user_agent + b"\r\n\r\n"
            )
            assert sock.recv(100).startswith(b"HTTP/1.1 200"), target
    # A raw byte outside ASCII in the request line: gunicorn 27 refuses it before the app
    # and logs it to the error log, never as an access line.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /p?raw\xff HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 400")
    process.terminate()
    out, _ = process.communicate(timeout=30)
    entries = [json.loads(line) for line in out.decode().splitlines()]
    for entry in entries:
        assert entry["event"] == "access" and entry["status"] == 200 and entry["method"] == "GET"
        assert entry["request_id"] == RESPONSE_REQUEST_ID
        assert isinstance(entry["duration_ms"], int) and entry["bytes"] == 2
    # Two threads answer, so the lines may come in another order.
    logged = sorted((e["path"], e["query"], e["user_agent"]) for e in entries)
    assert logged == sorted((path, query, user_agent) for _, _, path, query, user_agent in HOSTILE)
    assert b"SECRET" not in out


def test_one_time_tokens_are_redacted_from_access_log_paths():
    assert redact_path("/verify-email/12.abc:1x:sig") == "/verify-email/[redacted]"
    assert redact_path("/reset-password/MQ.abc-def") == "/reset-password/[redacted]"
    assert redact_path("/reset-password/MQ.abc\ndef/next") == "/reset-password/[redacted]/next"
    assert redact_path("/draws/2026-11-23") == "/draws/2026-11-23"
