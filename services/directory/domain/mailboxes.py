"""Which mailbox addresses a professional may claim: the one rule every enrolment and certificate obeys.

An enrolment (and a certificate publication) may claim only

(a) an address the MSSanté extract lists for the claimant's own RPPS (he is its only active owner), or
(b) a new address (unknown to the directory) under a domain the platform operates
    (``MAILLAGE_MESSAGING_DOMAINS``),

never a reserved address (postmaster, abuse, the platform's own sender...: ``RESERVED_LOCAL_PARTS``, on
any domain), never an address the extract lists for someone else, an organisation or a service, and
never an address another professional has already claimed. Addresses are normalised once
(``services.shared.identifiers.check_mailbox_address``: trimmed, ASCII, lower case), so they compare case-insensitively.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import Enum

from services.directory.domain.errors import MailboxTaken
from services.shared.errors import Forbidden, Invalid, Unprocessable
from services.shared.identifiers import check_mailbox_address

_SEPARATORS = str.maketrans("", "", ".-_")

# Role and service local parts nobody may claim as a personal mailbox, on any domain (compared after
# ``reserved_key``: lower case, sub-address cut at '+', dots, hyphens and underscores removed).
RESERVED_LOCAL_PARTS = frozenset({
    # RFC 2142 and the mail system's own
    "postmaster", "abuse", "hostmaster", "webmaster", "security", "noc", "mailerdaemon", "root", "usenet", "news",
    # no-reply senders, in English and French
    "noreply", "donotreply", "nepasrepondre", "nereponsepas", "nepasrepondreici", "noreponse", "sansreponse",
    # the platform's own services
    "maillage", "admin", "administrateur", "administrator", "support", "securite", "operateur", "operator",
    "annuaire", "messagerie", "notification", "notifications", "dpo", "rgpd",
})


class MailboxReserved(Forbidden):
    """The address is reserved to the platform or to a mail role (HTTP 403)."""


__all__ = ["MailboxTaken"]  # the directory's 409 for an address that is someone else's


class MailboxNotClaimable(Unprocessable):
    """A new address outside the domains the platform operates (HTTP 422)."""


class Claim(Enum):
    LISTED = "listed"  # (a): the directory already lists it for the claimant alone
    NEW = "new"  # (b): a new address under an operated domain


@dataclass(frozen=True, slots=True)
class MailboxPolicy:
    """The platform's side of the rule: the domains it operates and its own sender address."""

    operated_domains: frozenset[str]
    platform_address: str

    @classmethod
    def of(cls, operated_domains: Iterable[str], platform_address: str) -> MailboxPolicy:
        return cls(frozenset(d.lower() for d in operated_domains), platform_address.strip().lower())


@dataclass(frozen=True, slots=True)
class KnownAddress:
    """What the directory holds about one address: its mailbox (if any), its active owners, who enrolled it."""

    active: bool
    owners: frozenset[str]  # IDNPS of its active owners: the MSSanté extract's, and the enrolment's
    enrolled_by: frozenset[str]  # IDNPS of the enrolments that claimed it


def reserved_key(local_part: str) -> str:
    return local_part.lower().partition("+")[0].translate(_SEPARATORS)


def is_reserved(address: str, policy: MailboxPolicy) -> bool:
    local, _, domain = address.rpartition("@")
    platform_local, _, platform_domain = policy.platform_address.rpartition("@")
    if address == policy.platform_address or (
            domain == platform_domain and reserved_key(local) == reserved_key(platform_local)):
        return True
    return reserved_key(local) in RESERVED_LOCAL_PARTS


def check_claim(address: str, claimant: str, known: KnownAddress | None, policy: MailboxPolicy,
                field: str = "mailbox") -> Claim:
    """May ``claimant`` (an IDNPS) take ``address`` (normalised) as his mailbox? How, or the refusal."""
    if is_reserved(address, policy):
        raise MailboxReserved("This mailbox address is reserved to the platform and cannot be claimed.",
                              expression=field)
    if known is None:
        if address.rpartition("@")[2] not in policy.operated_domains:
            raise MailboxNotClaimable(
                "A new mailbox address must be under a domain the platform operates; any other address must be "
                "listed for your RPPS number in the MSSanté directory.", expression=field)
        return Claim.NEW
    if known.enrolled_by - {claimant}:
        raise MailboxTaken("Another professional has already claimed this mailbox address.", expression=field)
    if known.owners - {claimant}:
        raise MailboxTaken("The MSSanté directory lists this mailbox address for someone else.", expression=field)
    if claimant not in known.owners:
        raise MailboxTaken("This mailbox address belongs to an organisation or a service, or is no longer listed "
                           "for anyone; it cannot be claimed.", expression=field)
    return Claim.LISTED


def check_certificate_names(named: Iterable[str], *, target: str | None, owners: Collection[str],
                            known: dict[str, KnownAddress | None], policy: MailboxPolicy,
                            field: str = "pem") -> None:
    """The addresses a certificate names (subjectAltName, e-mail attribute) claim nothing that is not its owners'.

    ``target`` is the mailbox the certificate is published for (None: a professional's own certificate),
    ``owners`` its owners' IDNPS, ``known`` what the directory holds about each named address.
    """
    for address in named:
        if is_reserved(address, policy):
            raise MailboxReserved("The certificate names a mailbox address reserved to the platform.",
                                  expression=field)
        if address == target:
            continue
        found = known.get(address)
        if found is None:
            continue  # an address the directory does not hold binds nothing here
        theirs = (found.owners | found.enrolled_by)
        if not theirs or not theirs <= set(owners):
            raise MailboxTaken("The certificate names a mailbox address of someone else.", expression=field)


def certificate_addresses(rfc822_names: Iterable[str]) -> tuple[str, ...]:
    """The e-mail addresses a certificate names, normalised; ones that are not addresses are left out."""
    found: dict[str, None] = {}
    for name in rfc822_names:
        try:
            found[check_mailbox_address(name)] = None
        except Invalid:
            continue
    return tuple(found)
