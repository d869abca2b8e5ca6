"""Directory schema: professionals, organisations, activities, mailboxes, certificates, CPTS, bus tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.shared.db.bus_migration import create_bus_tables, drop_bus_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# A frozen copy of the types in adapters/tables.py: a migration must not change when they do.
NORM = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def _text(*names: str, nullable: bool = True) -> list[sa.Column[str]]:
    return [sa.Column(name, sa.Text(), nullable=nullable) for name in names]


def _imported() -> list[sa.Column[object]]:
    return [sa.Column("active", sa.Boolean(), nullable=False),
            sa.Column("content_hash", sa.BigInteger(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False)]


def _indexes(table: str, **indexes: list[str]) -> None:
    for name, columns in indexes.items():
        op.create_index(name, table, columns, unique=False)


def _partial_index(name: str, table: str, columns: list[str]) -> None:
    where = sa.text(f"{columns[0]} IS NOT NULL")
    op.create_index(name, table, columns, unique=False, sqlite_where=where, postgresql_where=where)


def upgrade() -> None:
    create_bus_tables()
    op.create_table(
        "professional",
        *_text("idnps", "id_type", "identifier", nullable=False), *_text("title", "civility"),
        *_text("family", "given", nullable=False),
        sa.Column("family_norm", NORM, nullable=False), sa.Column("given_norm", NORM, nullable=False),
        *_text("profession", "profession_label", "category", "specialty", "specialty_label"),
        *_imported(),
        sa.PrimaryKeyConstraint("idnps"),
    )
    _indexes("professional", ix_professional_name=["family_norm", "given_norm"])
    op.create_table(
        "organisation",
        *_text("id", "kind", "name", nullable=False), sa.Column("name_norm", NORM, nullable=False),
        *_text("source", nullable=False),
        *_text("siret", "siren", "finess", "legal_finess", "trade_name", "sector", "postal_code",
               "commune_code", "city"),
        *_imported(),
        sa.PrimaryKeyConstraint("id"),
    )
    _indexes("organisation", ix_organisation_siret=["siret"], ix_organisation_name=["name_norm"],
             ix_organisation_postal_code=["postal_code"])
    _partial_index("ix_organisation_finess", "organisation", ["finess"])
    _partial_index("ix_organisation_partof", "organisation", ["legal_finess"])
    op.create_table(
        "activity",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        *_text("professional_idnps", "ref", nullable=False), *_text("organisation_id"),
        sa.Column("family_norm", NORM, nullable=False),
        *_text("profession", "skill_type", "specialty", "mode", "role", "specialty_label", "sector",
               "recipient_extra", "place_extra", "street_number", "street_number_suffix",
               "street_type", "street_type_label", "street_name", "distribution", "cedex",
               "postal_code", "commune_code", "city", "country", "phone", "phone2", "fax", "email",
               "department"),
        *_imported(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_activity_key", "activity", ["professional_idnps", "ref"], unique=True)
    _indexes("activity", ix_activity_organisation=["organisation_id"],
             ix_activity_place_name=["postal_code", "family_norm"], ix_activity_commune=["commune_code"])
    _partial_index("ix_activity_specialty", "activity", ["specialty", "postal_code"])
    _upgrade_messaging()
    _upgrade_cpts()
    op.create_table(
        "import_run",
        *_text("id", "kind", "file_name", nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False)
          for name in ("rows", "created", "updated", "unchanged", "deactivated", "rejected")),
        sa.PrimaryKeyConstraint("id"),
    )


def _upgrade_messaging() -> None:
    op.create_table(
        "mailbox",
        *_text("address", "type", nullable=False),
        *_text("structure_id_type", "structure_id", "service", "org_name", "postal_code",
               "dematerialisation"),
        *_imported(),
        sa.PrimaryKeyConstraint("address"),
    )
    _indexes("mailbox", ix_mailbox_structure=["structure_id"])
    op.create_table(
        "mailbox_owner",
        *_text("address", "owner_idnps", nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["address"], ["mailbox.address"]),
        sa.PrimaryKeyConstraint("address", "owner_idnps"),
    )
    _indexes("mailbox_owner", ix_mailbox_owner_idnps=["owner_idnps"])
    op.create_table(
        "certificate",
        *_text("fingerprint", "pem", "subject", "issuer", "serial", nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        *_text("key_usage", nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        *_text("mailbox_address", "professional_idnps"),
        sa.PrimaryKeyConstraint("fingerprint"),
    )
    _indexes("certificate", ix_certificate_mailbox=["mailbox_address"],
             ix_certificate_professional=["professional_idnps"])


def _upgrade_cpts() -> None:
    op.create_table(
        "cpts_territory",
        *_text("cpts_id", "kind", "code", nullable=False),
        sa.ForeignKeyConstraint(["cpts_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("cpts_id", "kind", "code"),
    )
    _indexes("cpts_territory", ix_cpts_territory_code=["kind", "code"])
    op.create_table(
        "cpts_member",
        *_text("cpts_id", "professional_idnps", nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("joined_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["cpts_id"], ["organisation.id"]),
        sa.ForeignKeyConstraint(["professional_idnps"], ["professional.idnps"]),
        sa.PrimaryKeyConstraint("cpts_id", "professional_idnps"),
    )
    _indexes("cpts_member", ix_cpts_member_professional=["professional_idnps"])


def downgrade() -> None:
    for table in ("import_run", "cpts_member", "cpts_territory", "certificate", "mailbox_owner",
                  "mailbox", "activity", "organisation", "professional"):
        op.drop_table(table)
    drop_bus_tables()
