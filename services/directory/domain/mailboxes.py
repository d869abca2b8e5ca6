"""Which mailbox addresses a professional may claim: the one rule every enrolment and certificate obeys.

An enrolment (and a certificate publication) may claim only

(a) an address the MSSanté extract lists for the claimant's own RPPS (he is its only active owner), or
(b) a new address (unknown to the directory) under a domain the platform operates
    (``MAILLAGE_MESSAGING_DOMAINS``) that is the claimant's own name, ``<given>.<family>`` as the national
    directory spells it (``personal_local_part``), optionally followed by a one- or two-digit namesake number,
    so that role-like and platform-like names (``contact``, ``maillage-admin``...) cannot be chosen at all,

never a reserved address (on any domain, whoever asks: ``is_reserved``, the platform's own sender and
``RESERVED_STEMS`` matched as stems, ``RESERVED_LOCAL_PARTS`` as whole words), never an address the
extract lists for someone else, an organisation or a service, and never an address another professional
has already claimed. Addresses are normalised once (``services.shared.identifiers.check_mailbox_address``:
trimmed, ASCII, lower case), so they compare case-insensitively.

A certificate binds a key to every address it names: each must normalise, each must be the mailbox it is
published for or an address its owners hold or claimed, and a certificate published for a mailbox must
name it (RFC 8550 §3): ``check_certificate_names``.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import Enum

from services.directory.domain.errors import MailboxTaken
from services.directory.domain.names import normalise
from services.shared.errors import Forbidden, Invalid, Unprocessable
from services.shared.identifiers import check_mailbox_address

_SEPARATORS = str.maketrans("", "", ".-_")

# Reserved stems: a local part is reserved when, compared after ``reserved_key`` (lower case, sub-address
# cut at '+', dots, hyphens and underscores removed) and without its trailing digits, it equals, starts
# with or ends with one of them (``no-reply-notifications``, ``maillage-admin``, ``postmaster1``,
# ``ne-pas-reponder``). A stem shorter than ``_LOOSE_SUFFIX`` letters matches at the end only from a
# word boundary (``x.abuse``, not ``labuse``; ``ahmed.marc`` is not ``dmarc``).
RESERVED_STEMS = frozenset({
    # RFC 2142 and the mail system's own
    "postmaster", "abuse", "hostmaster", "webmaster", "security", "mailerdaemon", "daemon", "dmarc", "bounce",
    "listserv", "majordomo",
    # no-reply senders, in English and French, and their misspellings
    "noreply", "norepl", "donotreply", "nepasrep", "nerepondezpas", "nereponsepas", "noreponse", "sansreponse",
    # the platform's own services
    "maillage", "admin", "support", "securite", "operateur", "operator", "annuaire", "messagerie", "notification",
    "mssante", "rgpd",
})
# Short role words reserved as whole local parts only (as stems they would refuse real names: Nocquet, Newsome).
RESERVED_LOCAL_PARTS = frozenset({"noc", "root", "usenet", "news", "dpo", "www", "ftp", "uucp"})
_LOOSE_SUFFIX = 6
_WORDS = re.compile(r"[._-]+")
_DIGITS = "0123456789"


class MailboxReserved(Forbidden):
    """The address is reserved to the platform or to a mail role (HTTP 403)."""


__all__ = ["MailboxTaken"]  # the directory's 409 for an address that is someone else's


class MailboxNotClaimable(Unprocessable):
    """A new address outside the domains the platform operates, or not the claimant's name (HTTP 422)."""


class CertificateNamesUnfit(Unprocessable):
    """A certificate names an address that does not normalise, or not the mailbox it is published for (422)."""


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


def _stem_and_bounds(local_part: str) -> tuple[str, frozenset[int]]:
    """``reserved_key`` without trailing digits, and where its words began or ended."""
    words = [w for w in _WORDS.split(local_part.lower().partition("+")[0]) if w]
    bounds, at = {0}, 0
    for word in words:
        at += len(word)
        bounds.add(at)
    return "".join(words).rstrip(_DIGITS), frozenset(bounds)


def _matches_stem(key: str, stem: str, bounds: frozenset[int]) -> bool:
    if not stem or key == stem or key.startswith(stem):
        return bool(stem)
    return key.endswith(stem) and (len(stem) >= _LOOSE_SUFFIX or len(key) - len(stem) in bounds)


def is_reserved(address: str, policy: MailboxPolicy) -> bool:
    """Whether ``address`` (normalised) is the platform's or a mail role's, on any domain (see the module)."""
    local, _, domain = address.rpartition("@")
    key, bounds = _stem_and_bounds(local)
    platform_local, _, platform_domain = policy.platform_address.rpartition("@")
    if address == policy.platform_address or (
            domain == platform_domain and _matches_stem(key, _stem_and_bounds(platform_local)[0], bounds)):
        return True
    return reserved_key(local).rstrip(_DIGITS) in RESERVED_LOCAL_PARTS or any(
        _matches_stem(key, stem, bounds) for stem in RESERVED_STEMS)


def personal_local_part(given: str, family: str) -> str:
    """``<given>.<family>`` as a new personal address spells it: no accents, lower case, words joined by hyphens.

    ``("Hélène", "LEFÈVRE-D'ÉTÉ")`` → ``helene.lefevre-d-ete``; ``("Jean Luc", "Dupont")`` → ``jean-luc.dupont``.
    """
    return f"{normalise(given).replace(' ', '-')}.{normalise(family).replace(' ', '-')}"


def is_personal_local_part(local_part: str, given: str, family: str) -> bool:
    """The professional's name, optionally followed by a one- or two-digit namesake number (``jeanne.martin2``)."""
    return re.fullmatch(re.escape(personal_local_part(given, family)) + r"[0-9]{0,2}", local_part) is not None


def check_claim(address: str, claimant: str, known: KnownAddress | None, policy: MailboxPolicy, *,
                name: tuple[str, str], field: str = "mailbox") -> Claim:
    """May ``claimant`` (an IDNPS) take ``address`` (normalised) as his mailbox? How, or the refusal.

    ``name`` is his (given, family) as the national directory spells them.
    """
    if is_reserved(address, policy):
        raise MailboxReserved("This mailbox address is reserved to the platform and cannot be claimed.",
                              expression=field)
    if known is None:
        if address.rpartition("@")[2] not in policy.operated_domains:
            raise MailboxNotClaimable(
                "A new mailbox address must be under a domain the platform operates; any other address must be "
                "listed for your RPPS number in the MSSanté directory.", expression=field)
        if not is_personal_local_part(address.rpartition("@")[0], *name):
            raise MailboxNotClaimable(
                "A new mailbox address must be your given name, a dot and your family name as the national directory "
                "spells them, without accents, in lower case, with hyphens for spaces and apostrophes, optionally "
                "followed by a one- or two-digit number for a namesake.", expression=field)
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
    """The addresses a certificate names (``certificate_addresses``) claim nothing that is not its owners'.

    ``target`` is the mailbox the certificate is published for (None: a professional's own certificate,
    which may name no address: IGC-Santé personal certificates identify their holder by RPPS), ``owners``
    its owners' IDNPS, ``known`` what the directory holds about each named address. Each address must be
    ``target`` or one the directory holds for, or has enrolled by, its owners only: one under an operated
    domain that nobody holds yet is not theirs either (a 409, like someone else's). A certificate for
    ``target`` must name it (RFC 8550 §3).
    """
    named = tuple(named)
    for address in named:
        if is_reserved(address, policy):
            raise MailboxReserved("The certificate names a mailbox address reserved to the platform.",
                                  expression=field)
        if address == target:
            continue
        found = known.get(address)
        if found is None:
            raise MailboxTaken("The certificate names a mailbox address that is not its owners': every address it "
                               "names must be the mailbox it is published for or one its owners hold.",
                               expression=field)
        theirs = (found.owners | found.enrolled_by)
        if not theirs or not theirs <= set(owners):
            raise MailboxTaken("The certificate names a mailbox address of someone else.", expression=field)
    if target is not None and target not in named:
        raise CertificateNamesUnfit("The certificate must name the mailbox it is published for (as a subject "
                                    "alternative name or e-mail address), as S/MIME requires.", expression=field)


def certificate_addresses(names: Iterable[str], field: str = "pem") -> tuple[str, ...]:
    """The e-mail addresses a certificate names, normalised: every one must be a plain mailbox address.

    A name that does not normalise (quoted, bracketed, ``mailto:``, a comment, a trailing dot, a NUL, a
    non-ASCII letter, surrounding spaces) would be read differently by a mail client: 422, never skipped.
    """
    found: dict[str, None] = {}
    for name in names:
        try:
            if name != name.strip():
                raise Invalid("untrimmed")
            found[check_mailbox_address(name)] = None
        except Invalid:
            raise CertificateNamesUnfit("The certificate names an e-mail address that is not a plain mailbox "
                                        "address; every address it names must be one.", expression=field) from None
    return tuple(found)
