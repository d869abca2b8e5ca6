"""Certificates in the ``certificate`` table: store, list, revoke, and pick the one to encrypt with."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from services.directory.adapters.connections import as_utc
from services.directory.adapters.tables import certificate
from services.directory.domain.views import CertificateView

c = certificate.c


def insert(connection: sa.Connection, view: CertificateView) -> None:
    connection.execute(certificate.insert().values(
        fingerprint=view.fingerprint, pem=view.pem, subject=view.subject, issuer=view.issuer, serial=view.serial,
        not_before=view.not_before, not_after=view.not_after, key_usage=",".join(view.key_usage),
        revoked=False, revoked_at=None, mailbox_address=view.mailbox, professional_idnps=view.professional_idnps))


def get(connection: sa.Connection, fingerprint: str) -> CertificateView | None:
    row = connection.execute(sa.select(certificate).where(c.fingerprint == fingerprint)).mappings().first()
    return _view(row) if row is not None else None


def of_owner(connection: sa.Connection, *, mailbox: str | None = None,
             professional_idnps: str | None = None) -> list[CertificateView]:
    """A mailbox's certificates, or a professional's own (not those of his mailboxes), newest first."""
    where = c.mailbox_address == mailbox if mailbox is not None else sa.and_(
        c.professional_idnps == professional_idnps, c.mailbox_address.is_(None))
    rows = connection.execute(sa.select(certificate).where(where).order_by(
        c.not_before.desc(), c.fingerprint)).mappings().all()
    return [_view(row) for row in rows]


def revoke(connection: sa.Connection, fingerprint: str, when: datetime) -> None:
    connection.execute(certificate.update().where(c.fingerprint == fingerprint, sa.not_(c.revoked)).values(
        revoked=True, revoked_at=when))


def usable(connection: sa.Connection, *, mailboxes: Iterable[str] = (), owners: Iterable[str] = (),
           now: datetime) -> tuple[dict[str, CertificateView], dict[str, CertificateView]]:
    """The certificate to encrypt with, by mailbox and by professional: valid now, unrevoked, latest first."""
    boxes, people = sorted(set(mailboxes)), sorted(set(owners))
    if not boxes and not people:
        return {}, {}
    mine = sa.or_(c.mailbox_address.in_(boxes), sa.and_(c.professional_idnps.in_(people), c.mailbox_address.is_(None)))
    rows = connection.execute(sa.select(certificate).where(
        mine, sa.not_(c.revoked), c.not_before <= now, c.not_after > now).order_by(
        c.not_after.desc(), c.fingerprint)).mappings().all()
    by_mailbox: dict[str, CertificateView] = {}
    by_owner: dict[str, CertificateView] = {}
    for view in map(_view, rows):
        if view.mailbox is not None:
            by_mailbox.setdefault(view.mailbox, view)
        elif view.professional_idnps is not None:
            by_owner.setdefault(view.professional_idnps, view)
    return by_mailbox, by_owner


def _view(row: sa.RowMapping) -> CertificateView:
    revoked_at = row["revoked_at"]
    return CertificateView(
        fingerprint=row["fingerprint"], pem=row["pem"], subject=row["subject"], issuer=row["issuer"],
        serial=row["serial"], not_before=as_utc(row["not_before"]), not_after=as_utc(row["not_after"]),
        key_usage=tuple(u for u in row["key_usage"].split(",") if u), revoked=bool(row["revoked"]),
        revoked_at=as_utc(revoked_at) if revoked_at is not None else None, mailbox=row["mailbox_address"],
        professional_idnps=row["professional_idnps"])
