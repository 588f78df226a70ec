from config.gunicorn_logging import _redact_request_line, redact_path


def test_one_time_tokens_are_redacted_from_access_log_paths():
    assert redact_path("/verify-email/12.abc:1x:sig") == "/verify-email/[redacted]"
    assert redact_path("/reset-password/MQ.abc-def") == "/reset-password/[redacted]"
    assert redact_path("/draws/2026-11-23") == "/draws/2026-11-23"
    line = "GET /verify-email/12.abc:1x:sig HTTP/1.1"
    assert _redact_request_line(line) == "GET /verify-email/[redacted] HTTP/1.1"
