"""The directory's reaction to directory.imported: the search places rebuilt, and the line it logs when done.

That line (``search places refreshed`` with the import id) is the public signal that the service has
finished reacting to an import: bench/directory_search.py waits for it before measuring searches.
"""
from __future__ import annotations

import sqlalchemy as sa
from structlog.testing import capture_logs

from services.directory.adapters import places
from services.directory.adapters.tables import activity, organisation, search_place
from services.directory.handlers.places import refresh_search_places
from services.shared.bus.envelope import CloudEvent
from services.shared.contracts.directory_events import DirectoryImported
from tests.unit.directory.directory_world import World

LOGGED = {"import_id", "places", "seconds"}  # the refresh's log line: its value for bench/, not tests


def test_an_import_rebuilds_the_places_and_logs_its_id_when_done(world: World) -> None:
    with world.engine.begin() as connection:
        before = connection.execute(sa.select(search_place)).all()
        connection.execute(search_place.delete())
    data = DirectoryImported(import_id="0123456789abcdef0123456789abcdef", kind="ps_activity", rows=0, created=0,
                             updated=0, unchanged=0, deactivated=0, rejected=0)
    event = CloudEvent(type="directory.imported", source="urn:maillage:service:directory",
                       data=data.to_data()).typed(DirectoryImported)

    with capture_logs() as logs, world.uow() as uow:
        refresh_search_places(event, uow=uow)
        uow.commit()

    with world.engine.connect() as connection:
        after = connection.execute(sa.select(search_place)).all()
    assert sorted(after) == sorted(before) and after
    done = [line for line in logs if line["event"] == "search places refreshed"]
    assert len(done) == 1
    assert done[0]["import_id"] == "0123456789abcdef0123456789abcdef"
    assert done[0]["places"] == len(after)
    assert done[0].keys() >= LOGGED


def test_sqlite_reads_the_pairs_in_table_order_and_finds_the_same_ones(world: World) -> None:
    """Not through the activity index (postal code, family): one table lookup per activity (2-3 s on 2M)."""
    with world.engine.connect() as connection:
        for table in (activity, organisation):
            statement = places.pairs_statement(connection, table)
            plan = " ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}"))
            assert f"SCAN {table.name}" in plan and "INDEX" not in plan, plan
            portable = set(connection.execute(places._PAIRS[table.name]))
            assert set(connection.execute(statement)) == portable
            assert portable or table is organisation  # the seeded activities have places
