"""The directory's tables (SQLAlchemy Core), shaped for FHIR search and for bulk re-imports."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from services.shared.db import bus_tables

metadata = sa.MetaData()
BUS_TABLES = bus_tables(metadata)

# Normalised names compare byte-wise on PostgreSQL too, so prefix ranges use their index
# whatever the cluster's locale.
NormText = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def _text(*names: str) -> list[sa.Column[str]]:
    return [sa.Column(name, sa.Text()) for name in names]


def _imported() -> list[sa.Column[object]]:
    """Columns of rows kept up to date by imports."""
    return [
        sa.Column("active", sa.Boolean(), nullable=False),
        # A fingerprint of the imported values: a re-import rewrites a row only when it changes.
        sa.Column("content_hash", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    ]


def _present(column: str) -> dict[str, Any]:
    """A partial index: most rows have no value (no specialty, no FINESS); absent is NULL."""
    where = sa.text(f"{column} IS NOT NULL")
    return {"sqlite_where": where, "postgresql_where": where}


professional = sa.Table(
    "professional", metadata,
    sa.Column("idnps", sa.Text(), primary_key=True),  # 8 + RPPS or 0 + ADELI
    sa.Column("id_type", sa.Text(), nullable=False),
    sa.Column("identifier", sa.Text(), nullable=False),  # the RPPS or ADELI number
    *_text("title", "civility"),
    sa.Column("family", sa.Text(), nullable=False), sa.Column("given", sa.Text(), nullable=False),
    sa.Column("family_norm", NormText, nullable=False), sa.Column("given_norm", NormText, nullable=False),
    *_text("profession", "profession_label", "category", "specialty", "specialty_label"),
    *_imported(),
    sa.Index("ix_professional_name", "family_norm", "given_norm"),
    sa.Index("ix_professional_given", "given_norm"),  # `given`, and the given half of `name`
)

organisation = sa.Table(
    "organisation", metadata,
    sa.Column("id", sa.Text(), primary_key=True),  # the extract's technical structure id
    sa.Column("kind", sa.Text(), nullable=False),  # OrganisationKind
    sa.Column("name", sa.Text(), nullable=False), sa.Column("name_norm", NormText, nullable=False),
    sa.Column("source", sa.Text(), nullable=False),  # "annuaire" (imported) or "enrolment"
    *_text("siret", "siren", "finess", "legal_finess", "trade_name", "sector", "postal_code",
           "commune_code", "city"),
    *_imported(),
    sa.Index("ix_organisation_finess", "finess", **_present("finess")),
    sa.Index("ix_organisation_siret", "siret"),
    sa.Index("ix_organisation_name", "name_norm"),
    sa.Index("ix_organisation_postal_code", "postal_code"),
    sa.Index("ix_organisation_partof", "legal_finess", **_present("legal_finess")),  # FHIR partof
)

# A FHIR PractitionerRole: one professional at one site (or at none), keyed by
# (professional_idnps, ref). No foreign keys: the import writes parents first in the same
# transaction, and checking them row by row made a 2-million-line import a third slower on
# SQLite and twice as slow on PostgreSQL. The key is a unique index, not the primary key, so
# that a first load can append rows and build it once at the end.
activity = sa.Table(
    "activity", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("professional_idnps", sa.Text(), nullable=False),  # -> professional.idnps
    sa.Column("ref", sa.Text(), nullable=False),  # "site|profession|skill type|skill|mode|role"
    sa.Column("organisation_id", sa.Text()),  # -> organisation.id
    sa.Column("family_norm", NormText, nullable=False),  # the professional's, for name + place search
    *_text("profession", "skill_type", "specialty", "mode", "role", "specialty_label", "sector",
           "recipient_extra", "place_extra", "street_number", "street_number_suffix", "street_type",
           "street_type_label", "street_name", "distribution", "cedex", "postal_code",
           "commune_code", "city", "country", "phone", "phone2", "fax", "email", "department"),
    *_imported(),
    sa.Index("uq_activity_key", "professional_idnps", "ref", unique=True),
    sa.Index("ix_activity_organisation", "organisation_id"),
    sa.Index("ix_activity_place_name", "postal_code", "family_norm"),
    sa.Index("ix_activity_specialty", "specialty", "postal_code", **_present("specialty")),
)

mailbox = sa.Table(
    "mailbox", metadata,  # an MSSanté secure-messaging mailbox
    sa.Column("address", sa.Text(), primary_key=True),  # lower case
    sa.Column("type", sa.Text(), nullable=False),  # PER, CAB, ORG, APP
    *_text("structure_id_type", "structure_id", "service", "org_name", "postal_code",
           "dematerialisation"),
    *_imported(),
    sa.Index("ix_mailbox_structure", "structure_id"),
)

mailbox_owner = sa.Table(
    "mailbox_owner", metadata,  # the professionals a PER or CAB mailbox belongs to
    sa.Column("address", sa.Text(), sa.ForeignKey("mailbox.address"), primary_key=True),
    sa.Column("owner_idnps", sa.Text(), primary_key=True),  # may precede the activity import
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("updated_at", sa.Float(), nullable=False),
    sa.Index("ix_mailbox_owner_idnps", "owner_idnps"),
)

certificate = sa.Table(
    "certificate", metadata,  # X.509 certificates to encrypt for a mailbox or a professional
    sa.Column("fingerprint", sa.Text(), primary_key=True),  # SHA-256 of the DER, hex
    sa.Column("pem", sa.Text(), nullable=False),
    sa.Column("subject", sa.Text(), nullable=False),
    sa.Column("issuer", sa.Text(), nullable=False),
    sa.Column("serial", sa.Text(), nullable=False),
    sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
    sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
    sa.Column("key_usage", sa.Text(), nullable=False),  # comma-separated, e.g. key_encipherment
    sa.Column("revoked", sa.Boolean(), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    *_text("mailbox_address", "professional_idnps"),
    sa.Index("ix_certificate_mailbox", "mailbox_address"),
    sa.Index("ix_certificate_professional", "professional_idnps"),
)

cpts_territory = sa.Table(
    "cpts_territory", metadata,  # the communes and postal codes a CPTS covers
    sa.Column("cpts_id", sa.Text(), sa.ForeignKey("organisation.id"), primary_key=True),
    sa.Column("kind", sa.Text(), primary_key=True),  # "commune" (INSEE code) or "postal_code"
    sa.Column("code", sa.Text(), primary_key=True),
    sa.Index("ix_cpts_territory_code", "kind", "code"),
)

cpts_member = sa.Table(
    "cpts_member", metadata,
    sa.Column("cpts_id", sa.Text(), sa.ForeignKey("organisation.id"), primary_key=True),
    sa.Column("professional_idnps", sa.Text(), sa.ForeignKey("professional.idnps"), primary_key=True),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("joined_at", sa.Float(), nullable=False),
    sa.Index("ix_cpts_member_professional", "professional_idnps"),
)

import_run = sa.Table(
    "import_run", metadata,  # one line per directory import, for operators and _lastUpdated
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("kind", sa.Text(), nullable=False),
    sa.Column("file_name", sa.Text(), nullable=False),
    sa.Column("started_at", sa.Float(), nullable=False),
    sa.Column("finished_at", sa.Float(), nullable=False),
    *(sa.Column(name, sa.Integer(), nullable=False)
      for name in ("rows", "created", "updated", "unchanged", "deactivated", "rejected")),
)

# --- The public side: enrolments, patients' objections and the search helpers (migration 0002). ---

enrolment = sa.Table(
    "enrolment", metadata,  # the regional enrolment form, one per professional
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("rpps", sa.Text(), nullable=False, unique=True),
    sa.Column("idnps", sa.Text(), nullable=False),
    *(sa.Column(name, sa.Text(), nullable=False)
      for name in ("civility", "family", "given", "mailbox", "phone1", "address", "postal_code", "city")),
    *_text("phone2", "specialty"),
    sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("enrolled_by", sa.Text(), nullable=False),  # the token's subject
    # True while the account kit waits for a certificate of the mailbox (migration 0005)
    sa.Column("kit_held", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Index("uq_enrolment_mailbox", "mailbox", unique=True),  # migration 0006
)

patient_objection = sa.Table(
    "patient_objection", metadata,  # a patient's objections, keyed by INS; never logged
    sa.Column("ins", sa.Text(), primary_key=True),
    sa.Column("objects_to_exchange", sa.Boolean(), nullable=False),
    sa.Column("refuses_dmp", sa.Boolean(), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_by", sa.Text(), nullable=False),
)

search_place = sa.Table(
    "search_place", metadata,  # the (postal code, city) pairs in use, for accent-blind city search
    sa.Column("postal_code", sa.Text(), primary_key=True),
    sa.Column("city", sa.Text(), primary_key=True),
    sa.Column("city_norm", NormText, nullable=False),
    sa.Index("ix_search_place_city", "city_norm"),
)
