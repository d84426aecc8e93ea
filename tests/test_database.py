"""Govern runs on a real PostgreSQL with pgvector 0.8 or newer."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_database_is_postgresql_with_pgvector_0_8_or_newer():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    assert row is not None, "the vector extension is not installed"
    major, minor, *_ = (int(part) for part in row[0].split("."))
    assert (major, minor) >= (0, 8)


def test_halfvec_hnsw_and_iterative_scans_work():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE probe (id int, list int, v halfvec(3))")
        cursor.execute(
            "INSERT INTO probe SELECT i, i % 2, ARRAY[cos(i), sin(i), 1]::halfvec(3) FROM generate_series(1, 200) i"
        )
        cursor.execute("CREATE INDEX ON probe USING hnsw (v halfvec_cosine_ops)")
        cursor.execute("SET LOCAL hnsw.ef_search = 40")
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        cursor.execute("SELECT id FROM probe WHERE list = 1 ORDER BY v <=> '[1,0,1]'::halfvec(3) LIMIT 5")
        ids = [row[0] for row in cursor.fetchall()]
    assert len(ids) == 5
    assert all(i % 2 == 1 for i in ids)
