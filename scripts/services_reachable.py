"""Exit 0 when DATABASE_URL (PostgreSQL) and REDIS_URL both answer; --describe prints them."""

import os
import sys
from urllib.parse import urlsplit


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}{parts.path}"


def main() -> int:
    database_url, redis_url = os.environ["DATABASE_URL"], os.environ["REDIS_URL"]
    if "--describe" in sys.argv:
        print(f"{_redacted(database_url)}, {_redacted(redis_url)}")
        return 0
    try:
        import psycopg
        import redis

        db = urlsplit(database_url)
        # Connect to the maintenance database: the tests create their own test_* database.
        with psycopg.connect(
            host=db.hostname,
            port=db.port or 5432,
            user=db.username,
            password=db.password,
            dbname="postgres",
            connect_timeout=3,
        ) as conn:
            conn.execute("SELECT 1")
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except Exception as exc:
        print(f"not reachable: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
