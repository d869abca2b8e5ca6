"""The directory's domain values check what they hold and answer simple questions."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.directory.domain.codes import (
    PROFESSION_SYSTEM,
    SPECIALTY_SYSTEM,
    MailboxType,
    OrganisationKind,
    is_general_practice,
    organisation_kind,
    profession_label,
    specialty_label,
)
from services.directory.domain.model import Address, Certificate, Cpts, Mailbox, Organisation, Professional
from services.directory.domain.names import normalise, prefix_bounds
from services.shared.errors import Invalid


def test_a_professional_is_keyed_by_a_valid_idnps() -> None:
    gp = Professional("810001045367", "LEFÈVRE", "Hélène", "10", "SM53")
    assert (gp.rpps, gp.adeli, gp.family_normalised) == ("10001045367", None, "lefevre")
    with pytest.raises(Invalid):
        Professional("810107582544", "X", "Y", "10")


def test_codes_and_labels() -> None:
    assert PROFESSION_SYSTEM.endswith("TRE-G15-ProfessionSante")
    assert SPECIALTY_SYSTEM.endswith("TRE-R38-SpecialiteOrdinale")
    assert profession_label("70") == "Masseur-Kinésithérapeute"
    assert specialty_label("SM54") == "Médecine Générale"
    assert all(is_general_practice(code) for code in ("SM26", "SM53", "SM54"))
    assert not is_general_practice("SM04")


def test_organisation_kind_from_sector_then_name() -> None:
    assert organisation_kind("SA01", "CH DE PAU") is OrganisationKind.HOSPITAL
    assert organisation_kind("", "PHARMACIE DE LA GARE") is OrganisationKind.PHARMACY
    assert organisation_kind("", "MAISON DE SANTE DES LILAS") is OrganisationKind.MSP
    assert organisation_kind("", "CPTS DU GRAND NANCY") is OrganisationKind.CPTS
    with pytest.raises(Invalid):
        Organisation("F25000070", "CH", finess="25000070")


def test_mailbox_address_and_personal_owner() -> None:
    Mailbox("helene.lefevre@medecin.mssante.fr", MailboxType.PERSONAL, owners=("810001045367",))
    with pytest.raises(Invalid, match="must be a mailbox address"):
        Mailbox("not-an-address", MailboxType.ORGANISATION)
    with pytest.raises(Invalid, match="exactly one owner"):
        Mailbox("cabinet@medecin.mssante.fr", MailboxType.PERSONAL)


def test_certificate_validity_and_encryption_use() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cert = Certificate("ab" * 32, "PEM", "CN=x", now - timedelta(days=1), now + timedelta(days=1),
                       frozenset({"key_encipherment"}))
    assert cert.can_encrypt_at(now)
    assert not replace(cert, revoked=True).valid_at(now)
    assert not replace(cert, key_usage=frozenset({"digital_signature"})).can_encrypt_at(now)
    assert not cert.valid_at(now + timedelta(days=2))


def test_cpts_territory_and_members() -> None:
    cpts = Cpts("CPTS-1", "CPTS DU LEZ", communes=frozenset({"34172"}), postal_codes=frozenset({"34970"}))
    assert cpts.covers(Address(postal_code="34000", commune_code="34172"))
    assert cpts.covers(Address(postal_code="34970", commune_code="34129"))
    assert not cpts.covers(Address(postal_code="75011", commune_code="75111"))
    assert cpts.with_member("810001045367").members == {"810001045367"}


def test_names_normalise_for_prefix_search() -> None:
    assert normalise("LEFÈVRE-D'ÉTÉ") == "lefevre d ete"
    assert normalise("  Œuvray  Zoë ") == "oeuvray zoe"
    low, high = prefix_bounds("Lef")
    assert low <= normalise("Lefèvre") < high and not low <= "leg" < high
