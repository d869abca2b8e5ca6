"""Enrolment: checked against the national data, stored with its mailbox, announced through the outbox."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa

from services.directory.adapters import certificate_check, certificate_store, enrolment_store
from services.directory.adapters.connections import Reader
from services.directory.domain import events
from services.directory.domain.access import require_self_or_admin
from services.directory.domain.enrolment import Enrol, Enrolment, check_names_match, display_name
from services.directory.domain.errors import (
    AlreadyEnrolled,
    CertificateConflict,
    NotInNationalDirectory,
    UnknownResource,
)
from services.directory.domain.mailboxes import MailboxPolicy, check_certificate_names, check_claim
from services.directory.domain.views import CertificateView
from services.shared.auth import Principal
from services.shared.db import UnitOfWork
from services.shared.errors import Conflict
from services.shared.identifiers import RPPS
from services.shared.logging import get_logger

Clock = Callable[[], datetime]
log = get_logger(__name__)


def enrol(form: Enrol, *, uow: UnitOfWork, actor: Principal, clock: Clock, policy: MailboxPolicy) -> Enrolment:
    """One enrolment per RPPS, for the caller himself (or by an administrator); 201 material or an error.

    The mailbox must be one ``policy`` lets him claim (``domain/mailboxes.py``). Without a certificate the
    mailbox can receive, the account kit is held (``kit_held``) until one is published for it.
    """
    form = form.checked()
    require_self_or_admin(actor, form.rpps)
    now, idnps = clock(), RPPS + form.rpps
    certificate = None
    if form.certificate_pem:
        certificate = certificate_check.inspect(form.certificate_pem, now, mailbox=form.mailbox,
                                                professional_idnps=None, field="certificate_pem")
    with uow:
        try:
            accepted = _write(uow, form, idnps, actor.subject, now, certificate, policy)
        except sa.exc.IntegrityError as clash:
            field = "mailbox" if "mailbox" in str(clash.orig) else "rpps"  # the unique index that refused it
            raise Conflict(f"Another enrolment for this {'mailbox address' if field == 'mailbox' else 'RPPS number'}"
                           " was made at the same moment.", expression=field) from None
        uow.commit()
    log.info("enrolment accepted", enrolment_id=accepted.id, with_certificate=bool(certificate),
             kit_held=accepted.kit_held)
    return accepted


def _write(uow: UnitOfWork, form: Enrol, idnps: str, by: str, now: datetime,
           certificate: CertificateView | None, policy: MailboxPolicy) -> Enrolment:
    connection = uow.connection
    national = _national(connection, form, idnps)
    if enrolment_store.by_rpps(connection, form.rpps) is not None:
        raise AlreadyEnrolled("This professional has already enrolled.", expression="rpps")
    check_claim(form.mailbox, idnps, enrolment_store.known_address(connection, form.mailbox), policy,
                name=(national["given"], national["family"]))
    if certificate is not None:
        named = certificate_check.named_addresses(certificate, field="certificate_pem")
        check_certificate_names(named, target=form.mailbox, owners=(idnps,),
                                known=enrolment_store.known_addresses(connection, named), policy=policy,
                                field="certificate_pem")
    accepted = Enrolment(f"enr-{uuid.uuid4().hex}", form.rpps, idnps, form.civility, form.family, form.given,
                         form.mailbox, form.phone1, form.phone2, form.address, form.postal_code, form.city,
                         form.specialty, now, by)
    enrolment_store.ensure_personal_mailbox(connection, form.mailbox, idnps, now.timestamp())
    if certificate is not None:
        _store_certificate(uow, certificate, idnps)
        accepted = replace(accepted, certificate_fingerprint=certificate.fingerprint)
    accepted = replace(accepted, kit_held=not enrolment_store.kit_can_go(connection, form.mailbox, idnps, now))
    enrolment_store.insert(connection, accepted)
    uow.publish(events.enrolled(accepted, greeting(national, form.civility)))
    return accepted


def greeting(national: sa.RowMapping, civility: str | None = None) -> str:
    """How the account kit greets the professional, from the national data."""
    return display_name(national["title"], national["civility"] or civility, national["given"], national["family"])


def _store_certificate(uow: UnitOfWork, certificate: CertificateView, idnps: str) -> None:
    known = certificate_store.get(uow.connection, certificate.fingerprint)
    if known is not None and (known.mailbox != certificate.mailbox or known.revoked):
        raise CertificateConflict("This certificate is already on record for another owner, or revoked.",
                                  expression="certificate_pem")
    if known is None:
        certificate_store.insert(uow.connection, certificate)
        uow.publish(events.certificate_published(certificate, (idnps,)))


def _national(connection: sa.Connection, form: Enrol, idnps: str) -> sa.RowMapping:
    national = enrolment_store.professional_row(connection, idnps, lock=True)  # see lock_professionals
    if national is None or not national["active"]:
        raise NotInNationalDirectory("No active professional holds this RPPS number in the national directory.",
                                     expression="rpps")
    check_names_match(form, national["family"], national["given"])
    return national


def enrolment_of(enrolment_id: str, *, read: Reader, actor: Principal) -> Enrolment:
    with read() as connection:
        found = enrolment_store.by_id(connection, enrolment_id)
    if found is None:
        raise UnknownResource("No enrolment has this id.", expression="id")
    require_self_or_admin(actor, found.rpps)
    return found
