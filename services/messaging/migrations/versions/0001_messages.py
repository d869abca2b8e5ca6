"""Messages, deliveries, mailbox entries, idempotency keys, audit trail, and the bus tables.

Revision ID: 0001_messages
Revises:
"""
import sqlalchemy as sa
from alembic import op

from services.shared.db.bus_migration import create_bus_tables, drop_bus_tables

revision = "0001_messages"
down_revision = None
branch_labels = None
depends_on = None
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    create_bus_tables()
    op.create_table(
        "messages",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("sender", sa.String(254), nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("submitted_at", sa.Float(), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("thread_id", sa.String(64), nullable=False),
        sa.Column("in_reply_to", sa.String(64), nullable=True),
        sa.Column("receipt_requested", sa.Boolean(), nullable=False),
        sa.Column("notice", sa.Boolean(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("recipient", sa.String(254), primary_key=True),
        sa.Column("kind", sa.String(2), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("delivered_at", sa.Float(), nullable=True),
        sa.Column("read_at", sa.Float(), nullable=True),
    )
    op.create_table(
        "mailbox_entries",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("mailbox", sa.String(254), nullable=False),
        sa.Column("folder", sa.String(8), nullable=False),
        sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("delivered_at", sa.Float(), nullable=False),
        sa.Column("read_at", sa.Float(), nullable=True),
        sa.Column("deleted_at", sa.Float(), nullable=True),
        sa.UniqueConstraint("mailbox", "message_id", "folder", name="uq_entry_mailbox_message"),
    )
    op.create_index("ix_entries_listing", "mailbox_entries", ["mailbox", "folder", "seq"])
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(128), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "audit_events",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=True),
        sa.Column("mailbox", sa.String(254), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in ("audit_events", "idempotency_keys", "mailbox_entries", "deliveries", "messages"):
        op.drop_table(table)
    drop_bus_tables()
