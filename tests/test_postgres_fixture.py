"""The PostgreSQL fixture gives a real, writable server."""

from __future__ import annotations

import pytest
import sqlalchemy as sa


@pytest.mark.postgres
def test_postgres_server_accepts_writes(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sa.text("create table t (x int)"))
        conn.execute(sa.text("insert into t values (41), (1)"))
        assert conn.execute(sa.text("select sum(x) from t")).scalar() == 42
    engine.dispose()
