"""The public Pro Santé Connect sample (ANS) imports through the same importer; its bad RPPS lines are rejected."""
from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from services.directory.adapters.tables import BUS_TABLES, activity, organisation, professional
from services.directory.importer import import_extract
from services.shared.db import UnitOfWork, make_engine
from services.shared.db.migrations import upgrade
from tests.unit.directory.annuaire_fixtures import PSC_SAMPLE

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not PSC_SAMPLE.is_file(), reason=f"the public PSC sample is not at {PSC_SAMPLE}"),
]


def test_the_pro_sante_connect_sample(make_database: Callable[[str], str]) -> None:
    url = make_database("directory_psc")
    upgrade("directory", url)
    engine = make_engine(url)
    try:
        report = import_extract(PSC_SAMPLE, uow=lambda: UnitOfWork(
            engine, service="directory", outbox=BUS_TABLES[0], processed=BUS_TABLES[1]))
        with engine.connect() as connection:
            people = connection.execute(sa.select(professional.c.idnps, professional.c.family,
                                                  professional.c.profession).order_by(professional.c.idnps)).all()
            sites = connection.scalar(sa.select(sa.func.count()).select_from(organisation))
            modes = connection.execute(sa.select(activity.c.mode).where(
                activity.c.professional_idnps == "0010000206").order_by(activity.c.mode)).scalars().all()
    finally:
        engine.dispose()
    assert (report.kind, report.encoding, report.rows, report.created, report.rejected) == (
        "ps_activity", "utf-8", 10, 8, 2)
    assert [(r.line, r.reason) for r in report.rejections] == [
        (10, "The RPPS number fails its check digit (Luhn)."), (11, "The RPPS number fails its check digit (Luhn).")]
    assert [idnps for idnps, _, _ in people] == ["0010000206", "0012800728", "0012800736", "810107592585"]
    assert ("810107592585", "ROLEAU", "70") in [tuple(p) for p in people]
    assert sites == 4  # the four SIRET sites of one optician
    assert modes == ["L", "S"]  # one person, no site, two modes: two activities
