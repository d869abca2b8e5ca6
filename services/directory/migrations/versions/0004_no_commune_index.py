"""Directory: drop the activity index on the commune code (no search reads it).

No FHIR search filters activities by INSEE commune code (CPTS territories are matched in the
domain, on rows already found); the index only cost a first import its build (~1.5 s for
2 million activities) and every re-import its upkeep.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_activity_commune", table_name="activity")


def downgrade() -> None:
    op.create_index("ix_activity_commune", "activity", ["commune_code"], unique=False)
