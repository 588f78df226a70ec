"""`lottery serve --port N`: the embedded server mails links to the port it listens on."""

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.harness import free_port, port_open, wait_for

ROOT = Path(__file__).resolve().parents[1]


def test_links_in_mail_use_the_port_the_embedded_server_listens_on(tmp_path):
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "LOTTERY_BASE_URL"}
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONPATH=str(ROOT),
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "lottery.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: port_open("127.0.0.1", port), timeout=120, message="lottery serve")
        base = f"http://127.0.0.1:{port}"
        signup = urllib.request.Request(
            f"{base}/api/v1/auth/signup",
            data=json.dumps(
                {
                    "email": "port@example.com",
                    "password": "a fine long passphrase",
                    "name": "Port Test",
                }
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(signup, timeout=30) as response:
            assert response.status == 202

        def verification_mail() -> dict | None:
            with urllib.request.urlopen(f"{base}/dev/mailbox.json", timeout=30) as response:
                mails = [m for m in json.load(response) if m["to"] == "port@example.com"]
            return mails[0] if mails else None

        mail = wait_for(verification_mail, timeout=60, message="the verification e-mail")
        assert f"{base}/verify-email/" in mail["body"]
    finally:
        server.terminate()
        server.wait(timeout=30)
