"""Encryption certificates of mailboxes and professionals: publish, list, revoke (owners or administrators)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa

from services.directory.adapters import certificate_check, certificate_store, enrolment_store
from services.directory.adapters.connections import Reader
from services.directory.domain import events
from services.directory.domain.access import require_owner, require_self_or_admin
from services.directory.domain.commands import PublishCertificate
from services.directory.domain.enrolment import display_name
from services.directory.domain.errors import CertificateConflict, UnknownResource
from services.directory.domain.mailboxes import (
    MailboxPolicy,
    MailboxReserved,
    check_certificate_names,
    is_reserved,
)
from services.directory.domain.views import CertificateView
from services.directory.handlers.enrolment import greeting
from services.shared.auth import Principal
from services.shared.db import UnitOfWork
from services.shared.errors import Invalid
from services.shared.identifiers import RPPS, check_mailbox_address, check_rpps
from services.shared.logging import get_logger

Clock = Callable[[], datetime]
log = get_logger(__name__)


def publish_certificate(command: PublishCertificate, *, uow: UnitOfWork, actor: Principal, clock: Clock,
                        policy: MailboxPolicy) -> tuple[CertificateView, bool]:
    """The certificate, and whether it is new (False: the same upload again, nothing announced).

    It binds a key to addresses: the mailbox it is for must not be reserved (``policy``), every address it
    names must be a plain address and that mailbox or its owners', and it must name that mailbox
    (``check_certificate_names``). Account kits held for want of a
    certificate (``kit_held``) are released in the same transaction (``enrolment.completed``).
    """
    mailbox, idnps = _target(command, actor, policy)
    now = clock()
    certificate = certificate_check.inspect(command.pem, now, mailbox=mailbox,
                                            professional_idnps=None if mailbox else idnps)
    named = certificate_check.named_addresses(certificate)
    with uow:
        connection = uow.connection
        owners = _owners(connection, mailbox, idnps, actor)
        check_certificate_names(named, target=mailbox, owners=owners,
                                known=enrolment_store.known_addresses(connection, named), policy=policy)
        known = certificate_store.get(connection, certificate.fingerprint)
        if known is not None:
            if known.revoked or (known.mailbox, known.professional_idnps) != (mailbox, certificate.professional_idnps):
                raise CertificateConflict("This certificate is already on record, revoked or for another owner.",
                                          expression="pem")
            return known, False
        certificate_store.insert(connection, certificate)
        uow.publish(events.certificate_published(certificate, owners))
        released = release_held_kits(uow, certificate, owners, now)
        uow.commit()
    log.info("certificate published", fingerprint=certificate.fingerprint, kits_released=released)
    return certificate, True


def release_held_kits(uow: UnitOfWork, certificate: CertificateView, owners: tuple[str, ...], now: datetime) -> int:
    """Announce ``enrolment.completed`` for each held account kit the new certificate lets the mailbox receive."""
    connection = uow.connection
    enrolment_store.lock_professionals(connection, owners)  # against an enrolment committing meanwhile
    if certificate.mailbox is not None:
        held = enrolment_store.held_kits(connection, mailbox_address=certificate.mailbox)
    else:
        held = enrolment_store.held_kits(connection, idnps=certificate.professional_idnps)
    released = 0
    for waiting in held:
        if not enrolment_store.kit_can_go(connection, waiting.mailbox, waiting.idnps, now):
            continue  # e.g. a professional's own certificate, while his mailbox has other owners
        if not enrolment_store.release_kit(connection, waiting.id):
            continue
        national = enrolment_store.professional_row(connection, waiting.idnps)
        name = greeting(national, waiting.civility) if national is not None else \
            display_name(None, waiting.civility, waiting.given, waiting.family)
        uow.publish(events.enrolment_completed(waiting, name, certificate, now))
        released += 1
    return released


def _target(command: PublishCertificate, actor: Principal, policy: MailboxPolicy) -> tuple[str | None, str | None]:
    if command.mailbox:
        mailbox = check_mailbox_address(command.mailbox)
        if is_reserved(mailbox, policy):  # whoever asks, administrators included: the platform's keys are not here
            raise MailboxReserved("This mailbox address is reserved to the platform; no certificate can be "
                                  "published for it.", expression="mailbox")
        return mailbox, None
    rpps = command.rpps or actor.rpps
    if not rpps:
        raise Invalid("Name the 'mailbox' or the professional's 'rpps' the certificate is for.", expression="rpps")
    require_self_or_admin(actor, check_rpps(rpps))
    return None, RPPS + rpps


def _owners(connection: sa.Connection, mailbox: str | None, idnps: str | None, actor: Principal) -> tuple[str, ...]:
    if mailbox is not None:
        owners = enrolment_store.mailbox_owners(connection, mailbox)
        if owners is None:
            raise UnknownResource("No mailbox has this address in the directory.", expression="mailbox")
        require_owner(actor, owners, "this mailbox")
        return owners
    assert idnps is not None
    if enrolment_store.professional_row(connection, idnps) is None:
        raise UnknownResource("No professional holds this RPPS number in the directory.", expression="rpps")
    return (idnps,)


def certificates_of(*, read: Reader, mailbox: str | None = None, rpps: str | None = None) -> list[CertificateView]:
    """Any caller may read certificates: they are public keys, published to encrypt for their owners."""
    if mailbox:
        address = check_mailbox_address(mailbox)
        with read() as connection:
            if enrolment_store.mailbox_owners(connection, address) is None:
                raise UnknownResource("No mailbox has this address in the directory.", expression="mailbox")
            return certificate_store.of_owner(connection, mailbox=address)
    if not rpps:
        raise Invalid("Give 'mailbox' or 'rpps' to list certificates.", expression="mailbox")
    idnps = RPPS + check_rpps(rpps)
    with read() as connection:
        if enrolment_store.professional_row(connection, idnps) is None:
            raise UnknownResource("No professional holds this RPPS number in the directory.", expression="rpps")
        return certificate_store.of_owner(connection, professional_idnps=idnps)


def revoke_certificate(fingerprint: str, *, uow: UnitOfWork, actor: Principal, clock: Clock) -> CertificateView:
    """Revoked once; revoking again changes nothing and announces nothing."""
    with uow:
        known = certificate_store.get(uow.connection, fingerprint.lower())
        if known is None:
            raise UnknownResource("No certificate has this fingerprint.", expression="fingerprint")
        owners = _owners_of(uow.connection, known)
        require_owner(actor, owners, "this certificate")
        if known.revoked:
            return known
        when = clock()
        certificate_store.revoke(uow.connection, known.fingerprint, when)
        uow.publish(events.certificate_revoked(known, owners, when))
        uow.commit()
    log.info("certificate revoked", fingerprint=known.fingerprint)
    return replace(known, revoked=True, revoked_at=when)


def _owners_of(connection: sa.Connection, known: CertificateView) -> tuple[str, ...]:
    if known.mailbox is not None:
        return enrolment_store.mailbox_owners(connection, known.mailbox) or ()
    return (known.professional_idnps,) if known.professional_idnps else ()
