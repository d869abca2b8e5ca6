"""An in-memory directory for unit tests: mailboxes and objections set by hand."""
from __future__ import annotations

from collections.abc import Collection, Iterable

from services.messaging.domain.model import Mailbox


class InMemoryDirectory:
    def __init__(self, mailboxes: Iterable[Mailbox] = (), objections: Iterable[str] = ()) -> None:
        self.mailboxes = {mailbox.address.lower(): mailbox for mailbox in mailboxes}
        self.objections = set(objections)
        self.professionals: dict[str, tuple[str, ...]] = {}  # IDNPS -> mailbox addresses, set by hand
        self.lookups = 0  # how many addresses were asked for, to show what a cache saves

    def add(self, mailbox: Mailbox) -> None:
        self.mailboxes[mailbox.address.lower()] = mailbox

    def object(self, ins: str) -> None:
        self.objections.add(ins)

    def resolve(self, addresses: Collection[str]) -> dict[str, Mailbox | None]:
        self.lookups += len(addresses)
        return {address.lower(): self.mailboxes.get(address.lower()) for address in addresses}

    def objects_to_exchange(self, ins: str) -> bool:
        return ins in self.objections

    def professional_mailboxes(self, identifier: str) -> tuple[str, ...] | None:
        return self.professionals.get(identifier if len(identifier) != 11 else "8" + identifier)
