"""Throwaway databases for tests: a SQLite file in a tmp dir, or a fresh PostgreSQL schema.

Each PostgreSQL test gets its own schema (selected through ``search_path`` in the URL),
so tests run in parallel on one server and leave nothing behind.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

POSTGRES_URL = os.environ.get(
    "RUNTARA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)

#: Parameters for fixtures that run a test once per dialect.
DIALECTS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def database_url(dialect: str, tmp_path: Path) -> Iterator[str]:
    if dialect == "sqlite":
        yield f"sqlite:///{tmp_path / 'runtara.db'}"
    else:
        with postgres_schema_url() as url:
            yield url
