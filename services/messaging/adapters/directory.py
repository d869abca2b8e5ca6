"""The directory over nameko RPC (a call function injected), with a small TTL cache of resolved mailboxes."""
from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization

from services.messaging.domain.model import Mailbox
from services.shared.errors import Invalid
from services.shared.logging import get_logger
from services.shared.pki.certs import check_certificate, load_certificate
from services.shared.pki.revocation import Revocations

Call = Callable[..., Any]  # call(method_name, **kwargs) -> the RPC result; raises Unavailable on timeout
BATCH = 100  # resolve_addresses takes at most 100 addresses
CERTIFICATE_PUBLISHED, CERTIFICATE_REVOKED = "certificate.published", "certificate.revoked"
log = get_logger(__name__)


class TtlCache:
    """Mailboxes by address; unknown addresses are kept for less time so a new mailbox shows up soon.

    The directory's ``certificate.published`` / ``certificate.revoked`` events evict what they concern
    (``forget``); a revoked certificate is also remembered, so that no answer of the directory that
    was on its way when the revocation was handled can bring it back.
    """

    def __init__(self, ttl: float, negative_ttl: float, max_entries: int = 10_000,
                 now: Callable[[], float] = time.monotonic, revocations: Revocations | None = None) -> None:
        self.ttl, self.negative_ttl, self.max_entries, self._now = ttl, negative_ttl, max_entries, now
        self.revocations = revocations  # the container's certificate revocations, told of the directory's
        self._entries: OrderedDict[str, tuple[float, Mailbox | None]] = OrderedDict()
        self._revoked: OrderedDict[str, None] = OrderedDict()  # certificate fingerprints (SHA-256 of the DER)

    def get(self, address: str) -> tuple[bool, Mailbox | None]:
        hit = self._entries.get(address)
        if hit is None or hit[0] < self._now():
            return False, None
        return True, hit[1]

    def put(self, address: str, mailbox: Mailbox | None) -> Mailbox | None:
        """Keep the mailbox (its certificate made unusable if revoked meanwhile); what to use now."""
        mailbox = self.screened(mailbox)
        ttl = self.ttl if mailbox is not None else self.negative_ttl
        self._entries[address] = (self._now() + ttl, mailbox)
        self._entries.move_to_end(address)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return mailbox

    def screened(self, mailbox: Mailbox | None) -> Mailbox | None:
        if not self._revoked or mailbox is None or mailbox.certificate is None or \
                fingerprint(mailbox) not in self._revoked:
            return mailbox
        return replace(mailbox, certificate_window=None)  # kept but unusable: INVALID_CERTIFICATE

    def forget(self, *, mailbox: str | None = None, fingerprint_hex: str | None = None,
               owners: Iterable[str] = (), revoked: bool = False) -> int:
        """Evict the entries an event concerns: that mailbox, that certificate, those owners' mailboxes."""
        if revoked and fingerprint_hex:
            self._revoked[fingerprint_hex] = None
            if self.revocations is not None:  # signatures by it are refused too
                self.revocations.revoke_fingerprint(fingerprint_hex)
            while len(self._revoked) > self.max_entries:
                self._revoked.popitem(last=False)
        rpps = {owner[1:] if owner.startswith("8") else owner for owner in owners}
        gone = [address for address, (_, box) in self._entries.items()
                if address == (mailbox or "").lower()
                or (box is not None and (box.owners & rpps
                                         or (fingerprint_hex and box.certificate is not None
                                             and fingerprint(box) == fingerprint_hex)))]
        for address in gone:
            del self._entries[address]
        return len(gone)

    def clear(self) -> None:
        self._entries.clear()


def fingerprint(mailbox: Mailbox) -> str:
    assert mailbox.certificate is not None
    return hashlib.sha256(mailbox.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


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
                found[address] = self._cache.put(address, parse_mailbox(lowered.get(address)))
        return found

    def forget(self, event_type: str, data: Mapping[str, Any]) -> int:
        """A directory certificate event: evict what it concerns (and remember a revoked certificate)."""
        return self._cache.forget(mailbox=data.get("mailbox"), fingerprint_hex=data.get("fingerprint"),
                                  owners=data.get("owners") or (), revoked=event_type == CERTIFICATE_REVOKED)

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
