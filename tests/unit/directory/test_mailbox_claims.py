"""The mailbox rule (domain/mailboxes.py): which address a professional may claim, each branch; and its settings."""
from __future__ import annotations

import pytest

from services.directory.domain.errors import MailboxTaken
from services.directory.domain.mailboxes import (
    RESERVED_LOCAL_PARTS,
    CertificateNamesUnfit,
    Claim,
    KnownAddress,
    MailboxNotClaimable,
    MailboxPolicy,
    MailboxReserved,
    certificate_addresses,
    check_certificate_names,
    check_claim,
    is_reserved,
    personal_local_part,
)
from services.shared.identifiers import check_mailbox_address
from services.shared.settings import SettingsError, read_settings

POLICY = MailboxPolicy.of(("maillage.mssante.fr", "cpts-paris11.mssante.fr"), "ne-pas-repondre@maillage.mssante.fr")
ME, OTHER, THIRD = "810001000016", "810001045367", "810000023084"
JEANNE = ("Jeanne", "MARTIN")  # ME's name as the national directory spells it


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
            check_claim(normalised, ME, holding, POLICY, name=JEANNE)
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
    for address in ("jeanne.martin@maillage.mssante.fr", "jeanne.martin2@cpts-paris11.mssante.fr"):
        assert check_claim(address, ME, None, POLICY, name=JEANNE) is Claim.NEW


@pytest.mark.parametrize("address", ["jeanne.martin@medecin.mssante.fr", "jeanne@sub.maillage.mssante.fr",
                                     "jeanne@maillage.mssante.fr.evil.fr", "jeanne@gmail.com"])
def test_a_new_address_elsewhere_is_422(address: str) -> None:
    with pytest.raises(MailboxNotClaimable) as caught:
        check_claim(address, ME, None, POLICY, name=JEANNE)
    assert caught.value.status == 422 and caught.value.expression == "mailbox"


def test_an_address_the_extract_lists_for_the_claimant_alone_is_his_whatever_its_domain() -> None:
    for address in ("paul.durand@medecin.mssante.fr", "dr.martin.cardio@maillage.mssante.fr"):  # not her name: kept
        assert check_claim(address, ME, known(ME), POLICY, name=JEANNE) is Claim.LISTED
        assert check_claim(address, ME, known(ME, active=False), POLICY, name=JEANNE) is Claim.LISTED


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
            check_claim(address, ME, holding, POLICY, name=JEANNE)
        assert caught.value.status == 409 and caught.value.expression == "mailbox" and words in caught.value.message


def test_a_certificate_may_name_its_mailbox_and_its_owners_other_mailboxes() -> None:
    names = certificate_addresses(["Paul.Durand@medecin.mssante.fr", "paul@cabinet.mssante.fr"])
    assert names == ("paul.durand@medecin.mssante.fr", "paul@cabinet.mssante.fr")
    holding = {"paul.durand@medecin.mssante.fr": known(ME), "paul@cabinet.mssante.fr": known(ME, enrolled_by=(ME,))}
    check_certificate_names(names, target="paul.durand@medecin.mssante.fr", owners=(ME,), policy=POLICY, known=holding)
    check_certificate_names(names, target=None, owners=(ME,), policy=POLICY, known=holding)
    # a shared mailbox's certificate may name its owners' own boxes
    check_certificate_names(names + ("cabinet@cabinet.mssante.fr",), target="cabinet@cabinet.mssante.fr",
                            owners=(ME, OTHER), policy=POLICY, known=holding)


def test_a_professionals_own_certificate_may_name_no_address() -> None:
    """IGC-Santé personal certificates identify their holder by RPPS; one published for the RPPS needs no address."""
    check_certificate_names((), target=None, owners=(ME,), policy=POLICY, known={})


@pytest.mark.parametrize("address", ["future.victim@maillage.mssante.fr", "jeanne.martin2@cpts-paris11.mssante.fr",
                                     "paul@ailleurs.fr", "jeanne.martin@medecin.mssante.fr"])
def test_a_certificate_naming_an_address_nobody_holds_is_409_even_under_an_operated_domain(address: str) -> None:
    for target in (None, "paul.durand@medecin.mssante.fr"):
        with pytest.raises(MailboxTaken) as caught:
            check_certificate_names(("paul.durand@medecin.mssante.fr", address), target=target, owners=(ME,),
                                    known={"paul.durand@medecin.mssante.fr": known(ME), address: None}, policy=POLICY)
        assert caught.value.status == 409 and caught.value.expression == "pem"
        assert "not its owners'" in caught.value.message and address not in caught.value.message


def test_a_certificate_for_a_mailbox_must_name_it() -> None:
    for names in ((), ("paul@cabinet.mssante.fr",)):
        with pytest.raises(CertificateNamesUnfit) as caught:
            check_certificate_names(names, target="paul.durand@medecin.mssante.fr", owners=(ME,), policy=POLICY,
                                    known={"paul@cabinet.mssante.fr": known(ME)}, field="certificate_pem")
        assert caught.value.status == 422 and caught.value.expression == "certificate_pem"
        assert "must name the mailbox" in caught.value.message


# What the red team put in certificates (subjectAltName rfc822Name, subject emailAddress, CN): names a mail client
# may read as another address than the directory's normalisation would; each one refused, never skipped.
UNFIT_NAMES = [
    '"ne-pas-repondre"@maillage.mssante.fr', "ne-pas-repondre@maillage.mssante.fr.",
    "ne-pas-repondre@maillage.mssante.fr\x00.evil.com", "<ne-pas-repondre@maillage.mssante.fr>",
    "mailto:ne-pas-repondre@maillage.mssante.fr", "ne-pas-repondre(comment)@maillage.mssante.fr",
    '"paul.durand"@medecin.mssante.fr', "paul.durand@medecin.mssante.fr.", "p\u0430ul.durand@medecin.mssante.fr",
    "paul.durand@medecin.mssante.fr ", " paul.durand@medecin.mssante.fr",
    "Paul Durand <paul.durand@medecin.mssante.fr>",
    "paul.durand@medecin.mssante.fr,ne-pas-repondre@maillage.mssante.fr", "paul.durand@", "@medecin.mssante.fr",
    "paul.durand@@medecin.mssante.fr", "paul.durand@medecin.mssante.fr\n", "paul..durand@medecin.mssante.fr",
    "paul.durand@xn--mdecin-.mssante.fr\u200b", "",
]


@pytest.mark.parametrize("name", [n.encode().decode("unicode_escape") for n in UNFIT_NAMES])
def test_a_certificate_name_that_is_not_a_plain_address_is_422_without_its_value(name: str) -> None:
    with pytest.raises(CertificateNamesUnfit) as caught:
        certificate_addresses(["paul.durand@medecin.mssante.fr", name])
    assert caught.value.status == 422 and caught.value.expression == "pem"
    assert "@" not in caught.value.message and caught.value.message.count(".") == 1


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


# The red team's enrolments under an operated domain that were accepted (issue 9): role-like, platform-like and
# lookalike local parts, and another person's name. Each is refused, whoever claims it.
RED_TEAM_LOCAL_PARTS = [
    "ne-pas-repondre1", "ne-pas-reponder", "ne-pas-repondr3", "nepasrepondre0", "ne-pas-repondre-maillage",
    "noreply-maillage", "no-reply-notifications", "maillage-admin", "postmaster1", "abuse-team", "daemon", "mdaemon",
    "bounce", "bounces", "dmarc", "list", "listserv", "owner", "secretariat", "contact", "info",
]


@pytest.mark.parametrize("local", RED_TEAM_LOCAL_PARTS + ["paul.durand", "martin.jeanne", "jeanne", "j.martin",
                                                          "jeanne.martin123", "jeanne.martin-2", "jeanne-martin",
                                                          "dr.martin", "jeanne.martin.cardio", "jeanne.martin.admin"])
def test_a_new_address_under_an_operated_domain_that_is_not_the_claimants_name_is_refused(local: str) -> None:
    for domain in POLICY.operated_domains:
        with pytest.raises((MailboxReserved, MailboxNotClaimable)) as caught:
            check_claim(f"{local}@{domain}", ME, None, POLICY, name=JEANNE)
        assert caught.value.expression == "mailbox" and local not in caught.value.message
        if caught.value.status == 422:
            assert "a dot and your family name" in caught.value.message and "one- or two-digit number" in \
                caught.value.message


@pytest.mark.parametrize("name, local", [
    (("Jeanne", "MARTIN"), "jeanne.martin"), (("Jeanne", "MARTIN"), "jeanne.martin2"),
    (("Jeanne", "MARTIN"), "jeanne.martin42"), (("Hélène", "LEFÈVRE-D'ÉTÉ"), "helene.lefevre-d-ete"),
    (("Jean Luc", "DUPONT"), "jean-luc.dupont"), (("Jean-Luc", "Le Goff"), "jean-luc.le-goff"),
    (("Zoé", "N’Diaye"), "zoe.n-diaye"), (("Anaïs", "Œuvray"), "anais.oeuvray"),
    (("Ahmed", "MARC"), "ahmed.marc"),  # ends with "dmarc", but not from a word boundary
])
def test_the_claimants_name_with_an_optional_namesake_number_is_a_new_address(name: tuple[str, str],
                                                                              local: str) -> None:
    assert personal_local_part(*name) == local.rstrip("0123456789")
    assert check_claim(f"{local}@maillage.mssante.fr", ME, None, POLICY, name=name) is Claim.NEW


# The reserved stems hold on any domain (an extract-listed address, an administrator's enrolment): equal to, starting
# or ending with a stem, once trailing digits and separators are cut.
@pytest.mark.parametrize("local", [
    "ne-pas-repondre1", "ne-pas-reponder", "ne-pas-repondr3", "nepasrepondre0", "ne-pas-repondre-maillage",
    "noreply-maillage", "no-reply-notifications", "no_reply.2", "maillage-admin", "admin2", "administrateur",
    "postmaster1", "postmaster-", "abuse-team", "x.abuse", "daemon", "mdaemon", "mailer-daemon-2", "bounce", "bounces",
    "dmarc", "dmarc-reports", "rapports.dmarc", "listserv", "support-technique", "securite-si", "operateur.mss",
    "hostmaster9", "webmaster", "notifications", "maillage", "root", "root1", "dpo",
])
def test_reserved_stems_are_refused_on_any_domain(local: str) -> None:
    for domain in ("medecin.mssante.fr", "maillage.mssante.fr", "hopital.fr"):
        assert is_reserved(f"{local}@{domain}", POLICY), local


def test_the_platform_address_is_a_stem_on_its_domain() -> None:
    policy = MailboxPolicy.of(("maillage.example.fr",), "notices@maillage.example.fr")
    for local in ("notices1", "notices-avis", "avis.notices", "no.tices+x"):
        assert is_reserved(f"{local}@maillage.example.fr", policy)
        assert not is_reserved(f"{local}@medecin.mssante.fr", policy)


GIVEN = ["Jean", "Marie", "Pierre", "Michel", "André", "Philippe", "Nathalie", "Isabelle", "Sylvie", "Catherine",
         "Françoise", "Nicolas", "Christophe", "Stéphane", "Sébastien", "Frédéric", "Laurent", "Olivier", "Patrick",
         "Ahmed", "Mohamed", "Fatima", "Nadia", "Karim", "Léa", "Chloé", "Manon", "Camille", "Inès", "Noé", "Maël",
         "Anne-Sophie", "Jean-Marc", "Marc", "Dominique", "Bernard", "Noël", "Rose", "Adam", "Abdel", "Admir", "Sup",
         "Nour", "Opéra", "Rooth", "Newton", "Dimitri", "Bouchra", "Listé", "Daphné", "Info", "Yasmine", "Anh"]
FAMILY = ["Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Simon",
          "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard", "Bonnet", "Dupont",
          "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Lefèvre", "Faure", "Mercier", "Blanc", "Guérin",
          "Boyer", "Garnier", "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin", "Clément",
          "Morin", "Henry", "Roussel", "Mathieu", "Masson", "Marchand", "Duval", "Denis", "Dumont", "Marie",
          "Lemaire", "Noël", "Meyer", "Dufour", "Meunier", "Brun", "Blanchard", "Giraud", "Joly", "Rivière", "Lucas",
          "Brunet", "Gaillard", "Barbier", "Arnaud", "Martinez", "Roche", "Renard", "Schmitt", "Roy", "Colin",
          "Vidal", "Caron", "Picard", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas", "Lacroix", "Bourgeois",
          "Benoit", "Rey", "Leclerc", "Payet", "Rolland", "Lopez", "Dupuy", "Guillot", "Hubert", "Berger", "Sanchez",
          "Moulin", "Deschamps", "Huet", "Vasseur", "Perez", "Boucher", "Fleury", "Klein", "Jacquet", "Adam", "Marty",
          "Maillard", "Mailly", "Baron", "Hervé", "Schneider", "Le Gall", "Le Roux", "Le Goff", "Da Silva", "Grondin",
          "Hoarau", "N'Diaye", "Ben Ahmed", "Haddad", "Nguyen", "Marc", "Demarco", "Labuse", "Nocquet", "Newsome",
          "Rootes", "Postel", "Bouncer", "Listel", "Owens", "Contat", "Infante", "Admirat", "Supiot", "Sécurité-Roy",
          "Abusel", "Daems", "Opérat", "Mailhe", "Annuel", "Messageot", "Dmarcq", "Noreau", "Dpont", "Rgpdi"]


def test_common_french_names_are_not_reserved_and_are_claimable() -> None:
    refused = [f"{given}/{family}" for given in GIVEN for family in FAMILY
               if is_reserved(f"{personal_local_part(given, family)}@maillage.mssante.fr", POLICY)]
    assert refused == []
    assert check_claim("jeanne.le-goff7@maillage.mssante.fr", ME, None, POLICY, name=("Jeanne", "Le Goff")) is Claim.NEW
