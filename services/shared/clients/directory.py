"""The directory's client (contract: schemas/rpc/directory.json): its answers parsed once, a TTL cache in front.

Transport-free: the RPC call is injected (``call(method, **kwargs)``; the nameko dependency with its
timeout is ``services.shared.nameko_ext.directory.DirectoryProxy``). Any service that asks the directory
about mailboxes, their certificates or a patient's objection uses this, never its own parsing.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from services.shared.contracts.directory_events import CertificatePublished, CertificateRevoked
from services.shared.contracts.events import Envelope
from services.shared.errors import Invalid, Unavailable
from services.shared.identifiers import rpps_of
from services.shared.logging import get_logger
from services.shared.pki.certs import check_certificate, load_certificate
from services.shared.pki.revocation import Revocations

Call = Callable[..., Any]  # call(method_name, **kwargs) -> the RPC result; raises DirectoryUnavailable
BATCH = 100  # resolve_addresses takes at most 100 addresses
log = get_logger(__name__)


class DirectoryUnavailable(Unavailable):
    """The directory did not answer in time."""


@dataclass(frozen=True)
class Mailbox:
    """A secure-messaging mailbox as resolved in the directory (a ResolvedMailbox of the RPC contract)."""

    address: str
    type: str  # PER, CAB, ORG, APP
    active: bool
    owners: frozenset[str] = frozenset()  # RPPS numbers
    organisation_finess: str | None = None
    certificate: x509.Certificate | None = None
    # when the certificate passed the encryption checks: its validity window; None if unusable
    certificate_window: tuple[datetime, datetime] | None = None

    def owned_by(self, rpps: str | None) -> bool:
        return rpps is not None and rpps in self.owners

    def can_encrypt_at(self, now: datetime) -> bool:
        window = self.certificate_window
        return self.certificate is not None and window is not None and window[0] <= now <= window[1]


def parse_mailbox(data: Mapping[str, Any] | None, now: datetime | None = None) -> Mailbox | None:
    """A ResolvedMailbox of the directory's RPC contract as a value; its certificate checked once.

    A certificate that cannot be used for encryption is kept, unusable (no window): the recipient
    bounces with INVALID_CERTIFICATE rather than being unknown.
    """
    if data is None:
        return None
    certificate, window = None, None
    pem = data.get("certificate_pem")
    if pem:
        try:
            certificate = load_certificate(pem.encode() if isinstance(pem, str) else pem)
            facts = check_certificate(certificate, now or datetime.now(UTC), usage="encryption")
            window = (facts.not_before, facts.not_after)
        except Invalid as error:
            log.info("directory certificate unusable", reason=error.message)
    owners = frozenset(str(owner["rpps"]) for owner in data.get("owners") or () if owner.get("rpps"))
    return Mailbox(
        address=str(data["address"]).lower(), type=str(data.get("type", "PER")), active=bool(data.get("active")),
        owners=owners, organisation_finess=data.get("organisation_finess"), certificate=certificate,
        certificate_window=window,
    )


def fingerprint(mailbox: Mailbox) -> str:
    """SHA-256 of the mailbox certificate's DER, lower-case hex (as the directory's events name it)."""
    assert mailbox.certificate is not None
    return mailbox.certificate.fingerprint(hashes.SHA256()).hex()


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
        """Evict the entries an event concerns: that mailbox, that certificate, those owners' (IDNPS) mailboxes."""
        if revoked and fingerprint_hex:
            self._revoked[fingerprint_hex] = None
            if self.revocations is not None:  # signatures by it are refused too
                self.revocations.revoke_fingerprint(fingerprint_hex)
            while len(self._revoked) > self.max_entries:
                self._revoked.popitem(last=False)
        rpps = {number for number in map(rpps_of, owners) if number is not None}
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


class DirectoryClient:
    """What a worker asks the directory: mailboxes (cached), a professional's mailboxes and a patient's objection
    (never cached)."""

    def __init__(self, call: Call, cache: TtlCache) -> None:
        self._call = call
        self._cache = cache

    def resolve(self, addresses: Collection[str]) -> dict[str, Mailbox | None]:
        """Each address (lower case) to its mailbox, or None when the directory does not know it."""
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

    def forget(self, event: Envelope[CertificatePublished | CertificateRevoked]) -> int:
        """A directory certificate event: evict what it concerns (and remember a revoked certificate)."""
        data = event.data
        return self._cache.forget(mailbox=data.mailbox, fingerprint_hex=data.fingerprint, owners=data.owners,
                                  revoked=isinstance(data, CertificateRevoked))

    def professional_mailboxes(self, identifier: str) -> tuple[str, ...] | None:
        """The mailbox addresses (lower case) of the professional with this RPPS or IDNPS; None when the directory
        knows nobody by it. Not cached: resolve the addresses for their mailboxes."""
        answer = self._call("lookup_professional", identifier=identifier)
        if not isinstance(answer, Mapping):
            return None
        return tuple(dict.fromkeys(str(address).lower() for address in answer.get("mailboxes") or ()))

    def objects_to_exchange(self, ins: str) -> bool:
        """Whether the patient objects to the exchange of their data between professionals.

        Not cached: an objection the patient just registered must stop the next message.
        """
        answer = self._call("exchange_objection", ins=ins) or {}
        return bool(answer.get("objects_to_exchange"))
