"""Directory: an enrolment remembers that its account kit waits for a certificate.

An enrolment without a certificate (none given with the form, none published for the mailbox or the
professional) cannot receive the kit, which is encrypted for the mailbox: the kit is held, and
announced (``enrolment.completed``) when a certificate is published for the mailbox. Existing
enrolments were all announced when they were made: not held.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("enrolment", sa.Column("kit_held", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("enrolment") as batch:
        batch.drop_column("kit_held")
