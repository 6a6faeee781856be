"""A scratch schema in the machine's PostgreSQL, for the tests and the benchmark."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

POSTGRES_URL = os.environ.get("BOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


class NoPostgres(Exception):
    """No PostgreSQL server answers at POSTGRES_URL."""


@contextlib.asynccontextmanager
async def scratch_schema(prefix: str) -> AsyncIterator[str]:
    """The URL of a fresh schema named `prefix`…, dropped afterwards."""
    import asyncpg

    try:
        admin = await asyncpg.connect(POSTGRES_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        raise NoPostgres(f"no PostgreSQL at {POSTGRES_URL} ({exc})") from exc
    schema = f"{prefix}{uuid.uuid4().hex[:12]}"
    await admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES_URL}?search_path={schema}"
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
