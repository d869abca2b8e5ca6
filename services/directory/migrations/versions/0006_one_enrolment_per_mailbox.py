"""Directory: one enrolment per mailbox address, enforced by the database.

The mailbox rule (``domain/mailboxes.py``) refuses an address another professional already claimed,
but two enrolments of the same new address committing at the same moment (PostgreSQL, read
committed) would each find it free: the index on ``enrolment.mailbox`` becomes unique, so the second
one fails and is answered 409. Addresses are stored normalised (lower case), so equal addresses are
equal strings. A database that already holds two enrolments of one address stops this migration:
that address was taken over, and an operator must decide whose it is first.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""
from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_enrolment_mailbox", table_name="enrolment")
    op.create_index("uq_enrolment_mailbox", "enrolment", ["mailbox"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_enrolment_mailbox", table_name="enrolment")
    op.create_index("ix_enrolment_mailbox", "enrolment", ["mailbox"], unique=False)
