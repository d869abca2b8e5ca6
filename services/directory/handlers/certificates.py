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
from services.directory.domain.enrolment import check_mailbox_address
from services.directory.domain.errors import CertificateConflict, UnknownResource
from services.directory.domain.identifiers import RPPS, check_rpps
from services.directory.domain.views import CertificateView
from services.shared.auth import Principal
from services.shared.db import UnitOfWork
from services.shared.errors import Invalid
from services.shared.logging import get_logger

Clock = Callable[[], datetime]
log = get_logger(__name__)


def publish_certificate(command: PublishCertificate, *, uow: UnitOfWork, actor: Principal,
                        clock: Clock) -> tuple[CertificateView, bool]:
    """The certificate, and whether it is new (False: the same upload again, nothing announced)."""
    mailbox, idnps = _target(command, actor)
    certificate = certificate_check.inspect(command.pem, clock(), mailbox=mailbox,
                                            professional_idnps=None if mailbox else idnps)
    with uow:
        owners = _owners(uow.connection, mailbox, idnps, actor)
        known = certificate_store.get(uow.connection, certificate.fingerprint)
        if known is not None:
            if known.revoked or (known.mailbox, known.professional_idnps) != (mailbox, certificate.professional_idnps):
                raise CertificateConflict("This certificate is already on record, revoked or for another owner.",
                                          expression="pem")
            return known, False
        certificate_store.insert(uow.connection, certificate)
        uow.publish(events.CERTIFICATE_PUBLISHED, events.certificate_published(certificate, owners),
                    subject=events.certificate_subject(certificate))
        uow.commit()
    log.info("certificate published", fingerprint=certificate.fingerprint)
    return certificate, True


def _target(command: PublishCertificate, actor: Principal) -> tuple[str | None, str | None]:
    if command.mailbox:
        return check_mailbox_address(command.mailbox), None
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
        uow.publish(events.CERTIFICATE_REVOKED, events.certificate_revoked(known, owners, when),
                    subject=events.certificate_subject(known))
        uow.commit()
    log.info("certificate revoked", fingerprint=known.fingerprint)
    return replace(known, revoked=True, revoked_at=when)


def _owners_of(connection: sa.Connection, known: CertificateView) -> tuple[str, ...]:
    if known.mailbox is not None:
        return enrolment_store.mailbox_owners(connection, known.mailbox) or ()
    return (known.professional_idnps,) if known.professional_idnps else ()
