"""The outbox relay against the real broker, on every backend: what the broker confirmed leaves the outbox
with the next lease (on PostgreSQL in the lease's own statement), and never gets leased again."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from services.shared.bus.relay import OutboxRelay
from services.shared.db import UnitOfWork, make_engine
from services.shared.testing import probe_service
from services.shared.testing.probe_service import BUS, ProbeCounted

pytestmark = pytest.mark.integration
OUTBOX = BUS[0]


@pytest.fixture
def engine(make_database) -> Iterator[sa.Engine]:  # type: ignore[no-untyped-def]
    engine = make_engine(make_database("relay"))
    probe_service.metadata.create_all(engine)
    yield engine
    engine.dispose()


def publish(engine: sa.Engine, *numbers: int) -> None:
    with UnitOfWork(engine, service="probe", outbox=OUTBOX, processed=BUS[1]) as uow:
        for n in numbers:
            uow.publish(ProbeCounted(n=n))
        uow.commit()


def outbox(engine: sa.Engine) -> list[tuple[int, str | None]]:
    with engine.connect() as conn:
        return [(int(seq), owner) for seq, owner in conn.execute(
            sa.select(OUTBOX.c.seq, OUTBOX.c.lease_owner).order_by(OUTBOX.c.seq))]


def test_confirmed_events_leave_with_the_next_lease_which_never_takes_them_again(engine: sa.Engine,
                                                                                  amqp_uri: str) -> None:
    relay = OutboxRelay(engine, OUTBOX, amqp_uri, batch_size=2)
    try:
        publish(engine, 1, 2, 3)
        assert relay.relay_once() == 2
        first = outbox(engine)
        assert [owner for _, owner in first] == [relay.owner, relay.owner, None]  # confirmed, kept until the next lease
        # their lease runs out before the next batch: they are deleted, not published again
        with engine.begin() as conn:
            conn.execute(OUTBOX.update().values(lease_until=0.0).where(OUTBOX.c.lease_owner.is_not(None)))

        assert relay.relay_once() == 1
        assert outbox(engine) == [(first[2][0], relay.owner)]
        publish(engine, 4)
        assert relay.relay_once() == 1
        assert [owner for _, owner in outbox(engine)] == [relay.owner]
    finally:
        relay.close()
    assert outbox(engine) == []  # close deletes the last confirmed batch
