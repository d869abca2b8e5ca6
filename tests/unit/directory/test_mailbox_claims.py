"""The mailbox rule (domain/mailboxes.py): which address a professional may claim, each branch; and its settings."""
from __future__ import annotations

import pytest

from services.directory.domain.errors import MailboxTaken
from services.directory.domain.mailboxes import (
    RESERVED_LOCAL_PARTS,
    Claim,
    KnownAddress,
    MailboxNotClaimable,
    MailboxPolicy,
    MailboxReserved,
    certificate_addresses,
    check_certificate_names,
    check_claim,
    is_reserved,
)
from services.shared.identifiers import check_mailbox_address
from services.shared.settings import SettingsError, read_settings

POLICY = MailboxPolicy.of(("maillage.mssante.fr", "cpts-paris11.mssante.fr"), "ne-pas-repondre@maillage.mssante.fr")
ME, OTHER, THIRD = "810001000016", "810001045367", "810000023084"


def known(*owners: str, enrolled_by: tuple[str, ...] = (), active: bool = True) -> KnownAddress:
    return KnownAddress(active, frozenset(owners), frozenset(enrolled_by))


@pytest.mark.parametrize("address", [
    "ne-pas-repondre@maillage.mssante.fr",  # the platform's own sender
    "ne.pas.repondre@maillage.mssante.fr", "ne_pas_repondre+kit@maillage.mssante.fr",
    "nepasrepondre@maillage.mssante.fr",
    "postmaster@maillage.mssante.fr", "abuse@cpts-paris11.mssante.fr", "hostmaster@maillage.mssante.fr",
    "webmaster@maillage.mssante.fr", "security@maillage.mssante.fr", "no-reply@maillage.mssante.fr",
    "noreply@medecin.mssante.fr", "do-not-reply@maillage.mssante.fr", "mailer-daemon@maillage.mssante.fr",
    "post.master@maillage.mssante.fr", "support@maillage.mssante.fr", "maillage@maillage.mssante.fr",
])
def test_a_reserved_address_is_403_whoever_claims_it_and_whatever_the_directory_holds(address: str) -> None:
    normalised = check_mailbox_address(address.upper())
    for holding in (None, known(ME), known()):
        with pytest.raises(MailboxReserved) as caught:
            check_claim(normalised, ME, holding, POLICY)
        assert caught.value.status == 403 and caught.value.expression == "mailbox"
        assert "reserved" in caught.value.message


def test_a_configured_platform_address_is_reserved_with_its_variants_on_its_domain_only() -> None:
    policy = MailboxPolicy.of(("maillage.example.fr",), "Notices@Maillage.Example.FR")
    assert is_reserved("notices@maillage.example.fr", policy)
    assert is_reserved("no.tices+x@maillage.example.fr", policy)
    assert not is_reserved("notices@medecin.mssante.fr", policy)  # "notices" is not a role name elsewhere
    assert not is_reserved("jeanne.martin@maillage.example.fr", policy)


def test_every_reserved_local_part_is_stored_in_its_compared_form() -> None:
    assert all(part == part.lower().replace(".", "").replace("-", "").replace("_", "") for part in RESERVED_LOCAL_PARTS)


def test_a_new_address_under_an_operated_domain_is_claimable() -> None:
    for address in ("jeanne.martin@maillage.mssante.fr", "dr.martin@cpts-paris11.mssante.fr"):
        assert check_claim(address, ME, None, POLICY) is Claim.NEW


@pytest.mark.parametrize("address", ["jeanne.martin@medecin.mssante.fr", "jeanne@sub.maillage.mssante.fr",
                                     "jeanne@maillage.mssante.fr.evil.fr", "jeanne@gmail.com"])
def test_a_new_address_elsewhere_is_422(address: str) -> None:
    with pytest.raises(MailboxNotClaimable) as caught:
        check_claim(address, ME, None, POLICY)
    assert caught.value.status == 422 and caught.value.expression == "mailbox"


def test_an_address_the_extract_lists_for_the_claimant_alone_is_his_whatever_its_domain() -> None:
    assert check_claim("paul.durand@medecin.mssante.fr", ME, known(ME), POLICY) is Claim.LISTED
    assert check_claim("paul.durand@medecin.mssante.fr", ME, known(ME, active=False), POLICY) is Claim.LISTED


@pytest.mark.parametrize("holding, words", [
    (known(OTHER), "lists this mailbox address for someone else"),
    (known(ME, OTHER), "lists this mailbox address for someone else"),  # a shared cabinet mailbox
    (known(OTHER, enrolled_by=(OTHER,)), "Another professional has already claimed"),
    (known(enrolled_by=(OTHER,)), "Another professional has already claimed"),  # its owner link lost meanwhile
    (known(), "organisation or a service"),  # an ORG or APP mailbox: no professional owner
    (known(active=False), "no longer listed"),  # someone's old address
])
def test_an_address_that_is_someone_elses_is_409(holding: KnownAddress, words: str) -> None:
    for address in ("jeanne.martin@medecin.mssante.fr", "jeanne.martin@maillage.mssante.fr"):
        with pytest.raises(MailboxTaken) as caught:
            check_claim(address, ME, holding, POLICY)
        assert caught.value.status == 409 and caught.value.expression == "mailbox" and words in caught.value.message


def test_a_certificate_may_name_its_mailbox_its_owners_other_mailboxes_and_addresses_unknown_here() -> None:
    names = certificate_addresses(["Paul.Durand@medecin.mssante.fr", "paul@cabinet.mssante.fr", "paul@ailleurs.fr",
                                   "not an address"])
    assert names == ("paul.durand@medecin.mssante.fr", "paul@cabinet.mssante.fr", "paul@ailleurs.fr")
    check_certificate_names(names, target="paul.durand@medecin.mssante.fr", owners=(ME,), policy=POLICY,
                            known={"paul.durand@medecin.mssante.fr": known(ME), "paul@cabinet.mssante.fr": known(ME)})
    check_certificate_names(names, target=None, owners=(ME,), policy=POLICY, known={})


@pytest.mark.parametrize("holding", [known(OTHER), known(ME, OTHER), known(enrolled_by=(OTHER,)), known()])
def test_a_certificate_naming_someone_elses_address_is_409(holding: KnownAddress) -> None:
    with pytest.raises(MailboxTaken) as caught:
        check_certificate_names(("jeanne@medecin.mssante.fr",), target="paul@medecin.mssante.fr", owners=(ME,),
                                known={"jeanne@medecin.mssante.fr": holding}, policy=POLICY)
    assert caught.value.status == 409 and caught.value.expression == "pem"


def test_a_certificate_naming_a_reserved_address_is_403_even_as_its_target() -> None:
    for target in (None, "ne-pas-repondre@maillage.mssante.fr"):
        with pytest.raises(MailboxReserved) as caught:
            check_certificate_names(("ne-pas-repondre@maillage.mssante.fr",), target=target, owners=(ME, THIRD),
                                    known={}, policy=POLICY, field="certificate_pem")
        assert caught.value.status == 403 and caught.value.expression == "certificate_pem"


def test_the_operated_domains_default_to_the_platform_address_domain_and_are_read_once() -> None:
    assert read_settings({}).messaging_domains == ("maillage.mssante.fr",)
    assert read_settings({}).platform_address == "ne-pas-repondre@maillage.mssante.fr"
    assert read_settings({"MAILLAGE_MESSAGING_PLATFORM_ADDRESS": "Notices@Example.FR"}).messaging_domains == (
        "example.fr",)
    settings = read_settings({"MAILLAGE_MESSAGING_DOMAINS": " Maillage.MSSante.fr, cpts-paris11.mssante.fr ,,"})
    assert settings.messaging_domains == ("maillage.mssante.fr", "cpts-paris11.mssante.fr")


@pytest.mark.parametrize("env", [{"MAILLAGE_MESSAGING_DOMAINS": "maillage.mssante.fr,@evil"},
                                 {"MAILLAGE_MESSAGING_DOMAINS": " , "},
                                 {"MAILLAGE_MESSAGING_PLATFORM_ADDRESS": "no-address"}])
def test_malformed_mailbox_settings_stop_the_start(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="MAILLAGE_MESSAGING"):
        read_settings(env)
