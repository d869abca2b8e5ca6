"""The bus tables every service database holds: the outbox and the processed-event record."""
from __future__ import annotations

import sqlalchemy as sa


def bus_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """Add ``outbox`` and ``processed_events`` to a service's metadata and return them."""
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("routing_key", sa.String(255), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        # A relay leases a batch before publishing, so several relays can share one outbox.
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Index("ix_outbox_lease", "lease_until"),
    )
    processed = sa.Table(
        "processed_events",
        metadata,
        sa.Column("handler", sa.String(128), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("processed_at", sa.Float(), nullable=False),
    )
    return outbox, processed
