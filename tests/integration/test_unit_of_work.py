"""The unit of work on every database backend: atomic outbox writes, once-only claims, savepoints."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.shared.db import UnitOfWork, make_engine
from services.shared.testing import probe_service
from services.shared.testing.probe_service import BUS

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(make_database):  # type: ignore[no-untyped-def]
    engine = make_engine(make_database("uow"))
    probe_service.metadata.create_all(engine)
    yield engine
    engine.dispose()


def uow(engine: sa.Engine) -> UnitOfWork:
    return UnitOfWork(engine, service="probe", outbox=BUS[0], processed=BUS[1])


def outbox_size(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.select(sa.func.count()).select_from(BUS[0])) or 0)


def test_claim_is_true_once_then_false(engine: sa.Engine) -> None:
    with uow(engine) as first:
        assert first.claim("event-1", "probe.count") is True
        assert first.claim("event-1", "probe.count") is False
        assert first.claim("event-1", "another.handler") is True
        first.commit()
    with uow(engine) as second:
        assert second.claim("event-1", "probe.count") is False


def test_events_leave_only_with_the_commit(engine: sa.Engine) -> None:
    with uow(engine) as abandoned:
        abandoned.publish("probe.counted", {"n": 1})
    assert outbox_size(engine) == 0
    woken: list[bool] = []
    with UnitOfWork(engine, service="probe", outbox=BUS[0], processed=BUS[1],
                    on_commit=lambda: woken.append(True)) as kept:
        kept.publish("probe.counted", {"n": 1})
        kept.publish("probe.counted", {"n": 2})
        kept.commit()
    assert outbox_size(engine) == 2
    assert woken == [True]


def test_a_failed_savepoint_undoes_only_its_own_work(engine: sa.Engine) -> None:
    with uow(engine) as work:
        work.publish("probe.counted", {"n": 1})
        with pytest.raises(RuntimeError), work.savepoint():
            work.claim("event-2", "probe.count")
            work.publish("probe.counted", {"n": 2})
            raise RuntimeError("handler failed")
        with work.savepoint():
            assert work.claim("event-2", "probe.count") is True
        work.commit()
    assert outbox_size(engine) == 1
