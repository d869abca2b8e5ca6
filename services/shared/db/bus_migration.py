"""Migration helper: create the outbox and processed-event tables in a service's first revision."""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create_bus_tables() -> None:
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("routing_key", sa.String(255), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_outbox_lease", "outbox", ["lease_until"])
    op.create_table(
        "processed_events",
        sa.Column("handler", sa.String(128), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("processed_at", sa.Float(), nullable=False),
    )


def drop_bus_tables() -> None:
    op.drop_table("processed_events")
    op.drop_index("ix_outbox_lease", "outbox")
    op.drop_table("outbox")
