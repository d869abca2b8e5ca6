"""The directory over nameko RPC (a call function injected), with a small TTL cache of resolved mailboxes."""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from services.messaging.crypto.certs import check_certificate, load_certificate
from services.messaging.domain.model import Mailbox
from services.shared.errors import Invalid
from services.shared.logging import get_logger

Call = Callable[..., Any]  # call(method_name, **kwargs) -> the RPC result; raises Unavailable on timeout
BATCH = 100  # resolve_addresses takes at most 100 addresses
log = get_logger(__name__)


class TtlCache:
    """Mailboxes by address; unknown addresses are kept for less time so a new mailbox shows up soon."""

    def __init__(self, ttl: float, negative_ttl: float, max_entries: int = 10_000,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.negative_ttl, self.max_entries, self._now = ttl, negative_ttl, max_entries, now
        self._entries: OrderedDict[str, tuple[float, Mailbox | None]] = OrderedDict()

    def get(self, address: str) -> tuple[bool, Mailbox | None]:
        hit = self._entries.get(address)
        if hit is None or hit[0] < self._now():
            return False, None
        return True, hit[1]

    def put(self, address: str, mailbox: Mailbox | None) -> None:
        ttl = self.ttl if mailbox is not None else self.negative_ttl
        self._entries[address] = (self._now() + ttl, mailbox)
        self._entries.move_to_end(address)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


class RpcDirectory:
    def __init__(self, call: Call, cache: TtlCache) -> None:
        self._call = call
        self._cache = cache

    def resolve(self, addresses: Collection[str]) -> dict[str, Mailbox | None]:
        found: dict[str, Mailbox | None] = {}
        missing = []
        for address in dict.fromkeys(a.lower() for a in addresses):
            hit, mailbox = self._cache.get(address)
            if hit:
                found[address] = mailbox
            else:
                missing.append(address)
        for start in range(0, len(missing), BATCH):
            chunk = missing[start:start + BATCH]
            answer = self._call("resolve_addresses", addresses=chunk) or {}
            lowered = {str(key).lower(): value for key, value in answer.items()}
            for address in chunk:
                mailbox = parse_mailbox(lowered.get(address))
                self._cache.put(address, mailbox)
                found[address] = mailbox
        return found

    def objects_to_exchange(self, ins: str) -> bool:
        # not cached: an objection the patient just registered must stop the next message
        answer = self._call("exchange_objection", ins=ins) or {}
        return bool(answer.get("objects_to_exchange"))


def parse_mailbox(data: Mapping[str, Any] | None, now: datetime | None = None) -> Mailbox | None:
    """A ResolvedMailbox of the directory's RPC contract as a domain value; its certificate checked once."""
    if data is None:
        return None
    certificate, window = None, None
    pem = data.get("certificate_pem")
    if pem:
        try:
            certificate = load_certificate(pem.encode() if isinstance(pem, str) else pem)
            facts = check_certificate(certificate, now or datetime.now(UTC), usage="encryption")
            window = (facts.not_before, facts.not_after)
        except Invalid as error:  # kept, unusable: the recipient bounces with INVALID_CERTIFICATE
            log.info("directory certificate unusable", reason=error.message)
    owners = frozenset(str(owner["rpps"]) for owner in data.get("owners") or () if owner.get("rpps"))
    return Mailbox(
        address=str(data["address"]).lower(), type=str(data.get("type", "PER")), active=bool(data.get("active")),
        owners=owners, organisation_finess=data.get("organisation_finess"), certificate=certificate,
        certificate_window=window,
    )
