"""Exit 0 if the PostgreSQL and Redis given on the command line answer, creating the
PostgreSQL database if it is missing; otherwise say which one is down and exit 1."""

from __future__ import annotations

import sys
from urllib.parse import urlparse

import psycopg
import redis


def postgres_up(url: str) -> bool:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    try:
        with psycopg.connect(admin_url, connect_timeout=3, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as error:
        print(f"PostgreSQL at {parsed.hostname}:{parsed.port} is not reachable: {error}")
        return False
    return True


def redis_up(url: str) -> bool:
    try:
        redis.Redis.from_url(url, socket_timeout=3).ping()
    except redis.RedisError as error:
        print(f"Redis at {url} is not reachable: {error}")
        return False
    return True


if __name__ == "__main__":
    database_url, redis_url = sys.argv[1], sys.argv[2]
    ok = postgres_up(database_url)
    ok = redis_up(redis_url) and ok
    sys.exit(0 if ok else 1)
