"""A messaging world for unit tests: a SQLite database, an in-memory directory, a dev operator, a clock."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization

from services.messaging.adapters.memory_directory import InMemoryDirectory
from services.messaging.adapters.operator import Operator, dev_operator
from services.messaging.adapters.tables import BUS_TABLES, entries, messages
from services.messaging.crypto.mime import MessageContent, parse_message
from services.messaging.domain.commands import Draft, SubmitMessage
from services.messaging.domain.model import Author, Mailbox, Recipient, RecipientKind
from services.messaging.handlers.submission import Submission, submit
from services.messaging.platform import Platform
from services.messaging.settings import MessagingSettings
from services.shared.bus.envelope import CloudEvent
from services.shared.clients.directory import parse_mailbox
from services.shared.contracts import contract_for
from services.shared.db import UnitOfWork, make_engine
from services.shared.db.migrations import upgrade
from services.shared.pki.cms import open_sealed
from tests.support.pki import Identity

RPPS = {"alice": "10000000009", "bob": "10000000017", "carol": "10000000025", "dave": "10000000033"}
ALICE, BOB, CAROL = "alice@cabinet.test", "bob@cabinet.test", "carol@clinique.test"
SECRETARIAT, INACTIVE = "secretariat@msp.test", "ferme@cabinet.test"
NOCERT, UNKNOWN = "sanscert@cabinet.test", "personne@nulle-part.test"


def mailbox(address: str, identity: Identity | None, owners: tuple[str, ...] = (), *, kind: str = "PER",
            active: bool = True) -> Mailbox:
    pem = identity.cert.public_bytes(serialization.Encoding.PEM).decode() if identity else None
    parsed = parse_mailbox({"address": address, "type": kind, "active": active, "certificate_pem": pem,
                            "owners": [{"rpps": rpps} for rpps in owners]})
    assert parsed is not None
    return parsed


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class World:
    def __init__(self, tmp_path: Path, pki: dict[str, Identity]) -> None:
        url = f"sqlite:///{tmp_path / 'messaging.db'}"
        upgrade("messaging", url)
        self.engine = make_engine(url)
        self.pki = pki
        self.clock = Clock()
        self.operator: Operator = dev_operator(tmp_path / "var", "ne-pas-repondre@maillage.test")
        self.platform = Platform(MessagingSettings(platform_address="ne-pas-repondre@maillage.test"), self.operator)
        self.directory = InMemoryDirectory([
            mailbox(ALICE, pki["alice"], (RPPS["alice"],)),
            mailbox(BOB, pki["bob"], (RPPS["bob"],)),
            mailbox(CAROL, pki["carol"], (RPPS["carol"],)),
            mailbox(SECRETARIAT, pki["dave"], (RPPS["bob"], RPPS["carol"]), kind="ORG"),
            mailbox(INACTIVE, pki["dave"], (RPPS["dave"],), active=False),
            mailbox(NOCERT, None, (RPPS["dave"],)),
        ])

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, service="messaging", outbox=BUS_TABLES[0], processed=BUS_TABLES[1])

    def deps(self) -> dict[str, Any]:
        return {"directory": self.directory, "platform": self.platform, "clock": self.clock}

    def command(self, *, to: tuple[str, ...] = (BOB,), cc: tuple[str, ...] = (), author: str = "alice",
                author_identity: Author | None = None, **changes: Any) -> SubmitMessage:
        recipients = (*(Recipient(a, RecipientKind.TO) for a in to), *(Recipient(a, RecipientKind.CC) for a in cc))
        who = author_identity or Author(subject=f"8{RPPS[author]}", rpps=RPPS[author])
        base = SubmitMessage(sender=ALICE, recipients=recipients, author=who,
                             content=Draft("Compte rendu DUPONT Jeanne", "Bonjour,\nci-joint.\n"))
        return replace(base, **changes)

    def submit(self, command: SubmitMessage | None = None, **changes: Any) -> Submission:
        return submit(command or self.command(**changes), uow=self.uow(), **self.deps())

    def events(self, event_type: str | None = None) -> list[CloudEvent]:
        with self.engine.connect() as conn:
            bodies = conn.scalars(sa.select(BUS_TABLES[0].c.body).order_by(BUS_TABLES[0].c.seq)).all()
        found = [CloudEvent.from_json(body) for body in bodies]
        return [event for event in found if event_type is None or event.type == event_type]

    def handle(self, event: CloudEvent, handler: Any, **deps: Any) -> None:
        with self.uow() as uow:
            if uow.claim(event.id, handler.__name__):
                handler(event.typed(contract_for(event.type)), uow=uow, **deps)  # as @event_handler does
            uow.commit()

    def ciphertext(self, message_id: str) -> bytes:
        with self.engine.connect() as conn:
            return bytes(conn.scalar(sa.select(messages.c.ciphertext).where(messages.c.id == message_id)))

    def open(self, message_id: str, reader: str) -> MessageContent:
        identity = self.pki[reader]
        verified = open_sealed(self.ciphertext(message_id), identity.cert, identity.key, list(self.operator.chain))
        return parse_message(verified.content)

    def count(self, table: sa.Table, **where: Any) -> int:
        query = sa.select(sa.func.count()).select_from(table)
        for name, value in where.items():
            query = query.where(table.c[name] == value)
        with self.engine.connect() as conn:
            return int(conn.scalar(query) or 0)

    def mailbox_count(self, mailbox: str, folder: str = "inbox") -> int:
        return self.count(entries, mailbox=mailbox, folder=folder)
