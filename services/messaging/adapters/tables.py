"""SQLAlchemy Core tables of the messaging database: ciphertext and routing metadata only."""
from __future__ import annotations

import sqlalchemy as sa

from services.shared.db import bus_tables

metadata = sa.MetaData()
BUS_TABLES = bus_tables(metadata)
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

messages = sa.Table(
    "messages", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("sender", sa.String(254), nullable=False),
    sa.Column("author", sa.String(128), nullable=False),  # rpps=…, service=…: who submitted it
    sa.Column("submitted_at", sa.Float(), nullable=False),
    sa.Column("priority", sa.String(16), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("thread_id", sa.String(64), nullable=False),
    sa.Column("in_reply_to", sa.String(64), nullable=True),
    sa.Column("receipt_requested", sa.Boolean(), nullable=False),
    sa.Column("notice", sa.Boolean(), nullable=False),  # sent by the platform: never bounced back
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("ciphertext", sa.LargeBinary(), nullable=False),  # CMS EnvelopedData, DER
)

deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("recipient", sa.String(254), primary_key=True),
    sa.Column("kind", sa.String(2), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("code", sa.String(64), nullable=True),
    sa.Column("delivered_at", sa.Float(), nullable=True),
    sa.Column("read_at", sa.Float(), nullable=True),
)

entries = sa.Table(
    "mailbox_entries", metadata,
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
    sa.Column("mailbox", sa.String(254), nullable=False),
    sa.Column("folder", sa.String(8), nullable=False),
    sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    sa.Column("delivered_at", sa.Float(), nullable=False),
    sa.Column("read_at", sa.Float(), nullable=True),
    sa.Column("deleted_at", sa.Float(), nullable=True),
    # a message reaches a mailbox folder at most once, whatever the redeliveries
    sa.UniqueConstraint("mailbox", "message_id", "folder", name="uq_entry_mailbox_message"),
    sa.Index("ix_entries_listing", "mailbox", "folder", "seq"),
)

idempotency_keys = sa.Table(
    "idempotency_keys", metadata,
    sa.Column("scope", sa.String(128), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("message_id", sa.String(36), nullable=False),
    sa.Column("status", sa.Integer(), nullable=False),
    sa.Column("response", sa.LargeBinary(), nullable=False),  # the JSON answered the first time
    sa.Column("created_at", sa.Float(), nullable=False),
)

audit_events = sa.Table(
    "audit_events", metadata,
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float(), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("message_id", sa.String(36), nullable=True),
    sa.Column("mailbox", sa.String(254), nullable=True),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),  # sha256(prev_hash + this record): tampering shows
)
