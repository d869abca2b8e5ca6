"""MSSanté rows as records: a mailbox, and for PER and CAB mailboxes the owning professional."""
from __future__ import annotations

from typing import Any

from services.directory.adapters.bulk import Upsert
from services.directory.adapters.fingerprint import fingerprint_values
from services.directory.adapters.rows import MailboxRow, owner_idnps
from services.directory.adapters.tables import mailbox

MAILBOXES = Upsert(mailbox, (
    "address", "type", "structure_id_type", "structure_id", "service", "org_name", "postal_code",
    "dematerialisation", "content_hash"), ("address",))


class MailboxChunker:
    """A mailbox shared by several professionals spans several lines: one record, several owners."""

    def __init__(self) -> None:
        self._mailboxes: dict[str, tuple[Any, ...]] = {}
        self._owners: set[tuple[str, str]] = set()

    def add(self, row: MailboxRow) -> None:
        address = row.address.lower()
        values = (address, row.mailbox_type, row.structure_id_type, row.structure_id, row.service,
                  row.org_name, row.postal_code, row.dematerialisation)
        self._mailboxes[address] = (*values, fingerprint_values(values))
        owner = owner_idnps(row)
        if owner:
            self._owners.add((address, owner))

    def end(self) -> None:
        """No more rows (nothing is held back across lines)."""

    def result(self) -> None:
        """Nothing to hand back: mailboxes are all written, none skipped."""

    def absorb(self, result: None) -> None:
        """Nothing to take in."""

    def take(self) -> dict[str, list[tuple[Any, ...]]]:
        records = {"mailbox": list(self._mailboxes.values()), "owner": sorted(self._owners)}
        self._mailboxes, self._owners = {}, set()
        return records
