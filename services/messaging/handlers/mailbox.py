"""A mailbox's owners list, read, mark read, delete and restore its messages."""
from __future__ import annotations

from datetime import timedelta

from cryptography import x509

from services.messaging.adapters import audit, mailboxes, repository
from services.messaging.domain import events
from services.messaging.domain.commands import EntryAction, MailboxQuery
from services.messaging.domain.model import Author, EntryView, Folder, Page
from services.messaging.domain.rules import bounce_code, check_owner
from services.messaging.platform import Platform
from services.messaging.ports import Clock, DirectoryPort
from services.shared.db import UnitOfWork
from services.shared.errors import Conflict, NotFound


def authorise(author: Author, address: str, directory: DirectoryPort) -> None:
    """404 for a mailbox the directory does not know, 403 for anyone but its owners."""
    check_owner(author, directory.resolve([address]).get(address))


def certificate_of(address: str, directory: DirectoryPort, clock: Clock) -> x509.Certificate:
    """The certificate to encrypt for a mailbox (for clients encrypting end to end), if it can receive."""
    found = directory.resolve([address]).get(address)
    code = bounce_code(found, clock())
    if found is None or found.certificate is None or code is not None:
        raise NotFound(f"This mailbox cannot receive encrypted messages ({code.value if code else 'unknown'}).",
                       expression="address")
    return found.certificate


def list_messages(query: MailboxQuery, author: Author, *, uow: UnitOfWork, directory: DirectoryPort) -> Page:
    authorise(author, query.mailbox, directory)
    with repository.reading(uow.engine) as conn:
        return mailboxes.list_entries(conn, query)


def read_message(action: EntryAction, *, uow: UnitOfWork, directory: DirectoryPort, clock: Clock) -> EntryView:
    """The ciphertext and metadata of one message; the read of health data is audited."""
    authorise(action.author, action.mailbox, directory)
    with uow:
        entry = _entry(uow, action, with_content=True)
        _audit(uow, action, "message.read-content", clock)
        uow.commit()
    return entry


def mark_read(action: EntryAction, *, uow: UnitOfWork, directory: DirectoryPort, clock: Clock) -> EntryView:
    """The first read of an inbox copy is announced (message.read), and acknowledged if the sender asked."""
    authorise(action.author, action.mailbox, directory)
    with uow:
        entry = _entry(uow, action)
        if entry.read_at is None:
            now = clock()
            mailboxes.set_read(uow.connection, entry.seq, now.timestamp())
            if entry.folder is Folder.INBOX:
                repository.mark_delivery_read(uow.connection, entry.message_id, entry.mailbox, now.timestamp())
                uow.publish(events.read(entry.message_id, entry.mailbox, entry.sender, now,
                                        receipt_requested=entry.receipt_requested))
            _audit(uow, action, "message.mark-read", clock)
        uow.commit()
    return _reload(uow, action)


def delete(action: EntryAction, *, uow: UnitOfWork, directory: DirectoryPort, clock: Clock) -> EntryView:
    """Soft delete: the message leaves the folder listing and can be restored during the retention period."""
    authorise(action.author, action.mailbox, directory)
    with uow:
        entry = _entry(uow, action)
        if entry.deleted_at is None:
            mailboxes.set_deleted(uow.connection, entry.seq, clock().timestamp())
            _audit(uow, action, "message.delete", clock)
        uow.commit()
    return _reload(uow, action)


def restore(action: EntryAction, *, uow: UnitOfWork, directory: DirectoryPort, platform: Platform,
            clock: Clock) -> EntryView:
    authorise(action.author, action.mailbox, directory)
    retention = timedelta(days=platform.settings.retention_days)
    with uow:
        entry = _entry(uow, action)
        if entry.deleted_at is not None:
            if clock() - entry.deleted_at > retention:
                raise Conflict(f"This message was deleted more than {retention.days} days ago and can no longer "
                               "be restored.", expression="message_id")
            mailboxes.set_deleted(uow.connection, entry.seq, None)
            _audit(uow, action, "message.restore", clock)
        uow.commit()
    return _reload(uow, action)


def _entry(uow: UnitOfWork, action: EntryAction, *, with_content: bool = False) -> EntryView:
    entry = mailboxes.find_entry(uow.connection, action.mailbox, action.message_id, action.folder,
                                 with_content=with_content)
    if entry is None:
        raise NotFound("This mailbox holds no message with this id.", expression="message_id")
    return entry


def _reload(uow: UnitOfWork, action: EntryAction) -> EntryView:
    with repository.reading(uow.engine) as conn:
        entry = mailboxes.find_entry(conn, action.mailbox, action.message_id, action.folder)
    assert entry is not None, "an entry is never removed while its owner acts on it"
    return entry


def _audit(uow: UnitOfWork, action: EntryAction, what: str, clock: Clock) -> None:
    audit.append(uow.connection, audit.AuditRecord(clock().timestamp(), action.author.label, what, "success",
                                                   action.message_id, action.mailbox))
