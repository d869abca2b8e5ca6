"""Query strings and path values of the mailbox routes, parsed into commands with precise errors."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.messaging.adapters.http_requests import message_id_or_none
from services.messaging.domain.commands import EntryAction, MailboxQuery
from services.messaging.domain.model import Author, Folder
from services.shared.errors import Invalid
from services.shared.identifiers import check_mailbox_address

MAX_PAGE = 200


def _flag(args: Any, name: str) -> bool:
    value = (args.get(name) or "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise Invalid(f"'{name}' must be true or false.", expression=name)
    return value in ("true", "1")


def _folder(args: Any, default: Folder | None) -> Folder | None:
    value = args.get("folder")
    if value is None:
        return default
    try:
        return Folder(value)
    except ValueError:
        raise Invalid("'folder' must be inbox or sent.", expression="folder") from None


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("'since' must be an ISO 8601 date-time, e.g. 2025-01-31T08:00:00Z.", expression="since") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _limit(value: str | None) -> int:
    try:
        limit = int(value or 50)
    except ValueError:
        raise Invalid("'limit' must be a whole number.", expression="limit") from None
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"'limit' must be between 1 and {MAX_PAGE}.", expression="limit")
    return limit


def mailbox_query(address: str, args: Any) -> MailboxQuery:
    return MailboxQuery(
        mailbox=check_mailbox_address(address, field="address"), folder=_folder(args, Folder.INBOX) or Folder.INBOX,
        limit=_limit(args.get("limit")), cursor=args.get("cursor") or None, unread=_flag(args, "unread"),
        since=_since(args.get("since")), deleted=_flag(args, "deleted"),
    )


def entry_action(address: str, message_id: str, args: Any, author: Author) -> EntryAction:
    checked = message_id_or_none(message_id, "message_id")
    if checked is None:
        raise Invalid("The message id is missing.", expression="message_id")
    return EntryAction(mailbox=check_mailbox_address(address, field="address"), message_id=checked, author=author,
                       folder=_folder(args, None))
