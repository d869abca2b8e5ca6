"""One search's time budget on each backend: a statement running past it stops, and the connection is clean after."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.directory.adapters.connections import reader
from services.directory.adapters.search_query import budget
from services.directory.domain.search import SearchTooCostly
from services.shared.db.engine import make_engine
from tests.support.databases import backends, new_database, remove_database

pytestmark = pytest.mark.integration
# Runs for minutes on either backend unless something stops it.
ENDLESS = sa.text("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) "
                  "SELECT count(*) FROM n")


@pytest.fixture(params=backends())
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    url = new_database(str(request.param), tmp_path, "budget")
    made = make_engine(url)
    try:
        yield made
    finally:
        made.dispose()
        remove_database(url)


def test_a_statement_past_the_budget_stops_as_too_costly(engine: sa.Engine) -> None:
    read = reader(engine)
    with pytest.raises(SearchTooCostly) as caught, read() as connection, budget(connection, 0.05):
        connection.execute(ENDLESS).scalar_one()
    assert (caught.value.status, caught.value.code) == (503, "too-costly")
    short = sa.text("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) "
                    "SELECT count(*) FROM n")
    for _ in range(3):  # the pooled connection keeps no handler and no timeout: the same work, unbounded, ends
        with read() as connection:
            assert connection.execute(short).scalar_one() == 1000000
    with read() as connection, budget(connection, 60):
        assert connection.execute(short).scalar_one() == 1000000


def test_other_database_errors_pass_through(engine: sa.Engine) -> None:
    with pytest.raises(sa.exc.DBAPIError), reader(engine)() as connection, budget(connection, 5):
        connection.execute(sa.text("SELECT * FROM no_such_table"))
