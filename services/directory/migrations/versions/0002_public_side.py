"""Directory public side: enrolments, patients' objections, the city search helper.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.directory.domain.names import normalise

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# A frozen copy of the types in adapters/tables.py: a migration must not change when they do.
NORM = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
WHEN = sa.DateTime(timezone=True)


def _text(*names: str, nullable: bool = True) -> list[sa.Column[str]]:
    return [sa.Column(name, sa.Text(), nullable=nullable) for name in names]


def upgrade() -> None:
    op.create_table(
        "enrolment",
        *_text("id", "rpps", "idnps", "civility", "family", "given", "mailbox", "phone1", "address",
               "postal_code", "city", nullable=False),
        *_text("phone2", "specialty"),
        sa.Column("enrolled_at", WHEN, nullable=False),
        *_text("enrolled_by", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rpps"),
    )
    op.create_index("ix_enrolment_mailbox", "enrolment", ["mailbox"], unique=False)
    op.create_table(
        "patient_objection",
        *_text("ins", nullable=False),
        sa.Column("objects_to_exchange", sa.Boolean(), nullable=False),
        sa.Column("refuses_dmp", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", WHEN, nullable=False),
        *_text("recorded_by", nullable=False),
        sa.PrimaryKeyConstraint("ins"),
    )
    places = op.create_table(
        "search_place",
        *_text("postal_code", "city", nullable=False),
        sa.Column("city_norm", NORM, nullable=False),
        sa.PrimaryKeyConstraint("postal_code", "city"),
    )
    op.create_index("ix_search_place_city", "search_place", ["city_norm"], unique=False)
    _fill_places(places)


def _fill_places(places: sa.Table) -> None:
    """The places of an already imported directory; later imports refresh them through their event."""
    pairs = op.get_bind().execute(sa.text(
        "SELECT DISTINCT postal_code, city FROM activity WHERE postal_code IS NOT NULL AND city IS NOT NULL "
        "UNION SELECT DISTINCT postal_code, city FROM organisation "
        "WHERE postal_code IS NOT NULL AND city IS NOT NULL")).all()
    rows = [{"postal_code": code, "city": city, "city_norm": normalise(city)} for code, city in pairs]
    if rows:
        op.bulk_insert(places, rows)


def downgrade() -> None:
    for table in ("search_place", "patient_objection", "enrolment"):
        op.drop_table(table)
