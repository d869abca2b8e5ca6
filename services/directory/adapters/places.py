"""The (postal code, city) pairs in use, with their normalised city, rebuilt after each import."""
from __future__ import annotations

import sqlalchemy as sa

from services.directory.adapters.tables import activity, organisation, search_place
from services.directory.domain.names import normalise


def refresh(connection: sa.Connection) -> int:
    """Rebuild the pairs from activities and organisations; how many there are now."""
    pairs: set[tuple[str, str]] = set()
    for table in (activity, organisation):
        statement = sa.select(table.c.postal_code, table.c.city).distinct().where(
            table.c.postal_code.is_not(None), table.c.city.is_not(None), table.c.city != "")
        pairs.update(connection.execute(statement).tuples())
    connection.execute(search_place.delete())
    rows = [{"postal_code": code, "city": city, "city_norm": normalise(city)} for code, city in sorted(pairs)]
    if rows:
        connection.execute(search_place.insert(), rows)
    return len(rows)

