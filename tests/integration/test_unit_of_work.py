"""The unit of work on every database backend: atomic outbox writes, once-only claims, savepoints."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.shared.bus.envelope import CloudEvent
from services.shared.db import UnitOfWork, make_engine
from services.shared.db.batch import EventBatch
from services.shared.nameko_ext.database import ServiceDatabase
from services.shared.testing import probe_service
from services.shared.testing.probe_service import BUS, ProbeCounted

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
        abandoned.publish(ProbeCounted(n=1))
    assert outbox_size(engine) == 0
    woken: list[bool] = []
    with UnitOfWork(engine, service="probe", outbox=BUS[0], processed=BUS[1],
                    on_commit=lambda: woken.append(True)) as kept:
        kept.publish(ProbeCounted(n=1))
        kept.publish(ProbeCounted(n=2))
        kept.commit()
    assert outbox_size(engine) == 2
    assert woken == [True]


def test_a_failed_savepoint_undoes_only_its_own_work(engine: sa.Engine) -> None:
    with uow(engine) as work:
        work.publish(ProbeCounted(n=1))
        with pytest.raises(RuntimeError), work.savepoint():
            work.claim("event-2", "probe.count")
            work.publish(ProbeCounted(n=2))
            raise RuntimeError("handler failed")
        with work.savepoint():
            assert work.claim("event-2", "probe.count") is True
        work.commit()
    assert outbox_size(engine) == 1


def test_claim_many_returns_only_the_events_not_handled_before(engine: sa.Engine) -> None:
    with uow(engine) as work:
        assert work.claim("event-a", "probe.count") is True
        assert work.claim_many(["event-a", "event-b", "event-c", "event-b"], "probe.count") == {"event-b", "event-c"}
        assert work.claim_many([], "probe.count") == set()
        work.release_claims(["event-c"], "probe.count")
        work.commit()
    with uow(engine) as later:
        assert later.claim_many(["event-a", "event-b", "event-c"], "probe.count") == {"event-c"}


def probe_event(n: int, *, poison: bool = False) -> CloudEvent:
    return CloudEvent(type="probe.counted", source="urn:test", data={"n": n, "poison": poison})


def run_batch(engine: sa.Engine, events: list[CloudEvent], only: set[int] | None = None) -> EventBatch:
    """What a worker does with a batch: ``handle_once`` per event, one transaction."""
    batch = EventBatch(events)
    db = ServiceDatabase(engine, "probe", BUS, lambda: None, batch=batch)

    def handle(event: CloudEvent) -> None:
        if only is None or event.data["n"] in only:
            db.handle_once(event.typed(ProbeCounted), probe_service.count, name="probe.count")

    batch.run(handle)
    return batch


def effects(engine: sa.Engine) -> tuple[dict[int, int], set[str]]:
    with engine.connect() as conn:
        handled = dict(conn.execute(sa.select(probe_service.handled.c.n, probe_service.handled.c.times)).all())
        claimed = set(conn.scalars(sa.select(BUS[1].c.event_id).where(BUS[1].c.handler == "probe.count")))
    return {int(n): int(times) for n, times in handled.items()}, claimed


def test_a_batch_handles_each_event_once_and_isolates_the_one_that_fails(engine: sa.Engine) -> None:
    seen = probe_event(1)
    run_batch(engine, [seen])
    first, poison, last = probe_event(2), probe_event(3, poison=True), probe_event(4)
    # A redelivery of an event already handled, and two copies of one event in the same batch.
    batch = run_batch(engine, [first, seen, first, poison, last])
    assert list(batch.failures) == [3]
    handled, claimed = effects(engine)
    assert handled == {1: 1, 2: 1, 4: 1}
    assert claimed == {seen.id, first.id, last.id}  # the failed event's claim was undone with its work
    again = run_batch(engine, [first, poison, last])  # the retry: only the failed event runs again
    assert list(again.failures) == [1]
    assert effects(engine)[0] == {1: 1, 2: 1, 4: 1}


def test_a_batch_keeps_no_claim_for_an_event_its_handler_skipped(engine: sa.Engine) -> None:
    events = [probe_event(n) for n in range(5)]
    run_batch(engine, events, only={0, 2})
    handled, claimed = effects(engine)
    assert handled == {0: 1, 2: 1}
    assert claimed == {events[0].id, events[2].id}
    run_batch(engine, events)  # redelivered: the skipped ones are handled now, the others not again
    assert effects(engine)[0] == {n: 1 for n in range(5)}


def test_writes_left_for_later_go_with_the_commit_and_not_with_a_failed_savepoint(engine: sa.Engine) -> None:
    insert = probe_service.cures.insert()
    with uow(engine) as work:
        work.execute_later(insert, {"n": 1})
        work.execute_later(insert, {"n": 2})
        with pytest.raises(RuntimeError), work.savepoint():
            work.execute_later(insert, {"n": 3})
            raise RuntimeError("handler failed")
        with work.savepoint():
            work.execute_later(insert, {"n": 4})
        work.commit()
    with uow(engine) as abandoned:
        abandoned.execute_later(insert, {"n": 5})
    with engine.connect() as conn:
        assert sorted(conn.scalars(sa.select(probe_service.cures.c.n))) == [1, 2, 4]
