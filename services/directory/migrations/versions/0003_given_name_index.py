"""Directory: an index on the normalised given name (the `given` and `name` searches).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_professional_given", "professional", ["given_norm"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_professional_given", table_name="professional")
