"""Enrolment against a real (SQLite) directory: every rule, the mailbox it creates, the event it announces."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.directory.adapters import enrolment_store
from services.directory.adapters.tables import certificate, enrolment, mailbox, mailbox_owner
from services.directory.domain.commands import PublishCertificate
from services.directory.domain.enrolment import Enrol
from services.directory.domain.errors import AlreadyEnrolled, MailboxTaken, NameMismatch, NotInNationalDirectory
from services.directory.domain.mailboxes import (
    CertificateNamesUnfit,
    Claim,
    MailboxNotClaimable,
    MailboxPolicy,
    MailboxReserved,
)
from services.directory.handlers import enrolment as enrolment_handler
from services.directory.handlers.certificates import publish_certificate
from services.directory.handlers.enrolment import enrol, enrolment_of
from services.directory.importer import import_extract
from services.shared.auth import Principal
from services.shared.bus.schemas import validate_event_body
from services.shared.errors import Conflict, Forbidden, Invalid
from tests.support.pki import make_ca, make_identity
from tests.unit.directory.directory_world import (
    ADMIN,
    CAB_BOX,
    HELENE,
    JEANNE,
    JEANNE_BOX,
    LUC,
    MAILBOX_POLICY,
    NOBODY_RPPS,
    PAUL,
    PAUL_BOX,
    World,
    enrolment_form,
    personal_address,
    professional,
    write_mailboxes,
)

PLATFORM = "ne-pas-repondre@maillage.mssante.fr"


def run(world: World, actor: Principal | None = None, **changes: Any) -> Any:
    form = enrolment_form(changes.pop("person", HELENE), **changes)
    return enrol(Enrol(**form), uow=world.uow(), actor=actor or professional(HELENE), clock=world.clock,
                 policy=MAILBOX_POLICY)


def rows(world: World, table: sa.Table, *where: Any) -> list[Any]:
    with world.engine.connect() as connection:
        return list(connection.execute(sa.select(table).where(*where)).mappings())


def test_an_enrolment_creates_a_personal_mailbox_and_announces_itself(world: World) -> None:
    accepted = run(world)
    assert accepted.id.startswith("enr-") and accepted.idnps == "8" + HELENE.rpps
    assert accepted.family == "Lefèvre-D'Été" and accepted.enrolled_at == world.now
    [box] = rows(world, mailbox, mailbox.c.address == accepted.mailbox)
    assert (box["type"], box["active"]) == ("PER", True)
    owners = rows(world, mailbox_owner, mailbox_owner.c.address == accepted.mailbox)
    assert [(o["owner_idnps"], o["active"]) for o in owners] == [("8" + HELENE.rpps, True)]
    [event] = world.events("professional.enrolled")
    validate_event_body("professional.enrolled", event)
    assert event["subject"] == f"Practitioner/{HELENE.rpps}"
    assert event["data"] | {"enrolment_id": "x"} == {
        "schema_version": 1, "enrolment_id": "x", "rpps": HELENE.rpps, "mailbox": accepted.mailbox,
        "display_name": "Mme Hélène LEFÈVRE-D'ÉTÉ", "enrolled_at": world.now.isoformat(timespec="seconds"),
        "account_kit": "held"}  # no certificate to encrypt the kit for yet
    assert enrolment_of(accepted.id, read=world.read, actor=professional(HELENE)) == accepted


def test_names_match_without_accents_or_case(world: World) -> None:
    assert run(world, family="lefevre d ete", given="HELENE").rpps == HELENE.rpps


@pytest.mark.parametrize("rpps, reason", [("1000002308", "11 digits"), ("10000023085", "Luhn")])
def test_a_malformed_rpps_is_400(world: World, rpps: str, reason: str) -> None:
    with pytest.raises(Invalid, match=reason) as caught:
        run(world, actor=ADMIN, rpps=rpps)
    assert caught.value.status == 400 and caught.value.expression == "rpps"
    assert world.outbox() == [] or all(e["type"] == "directory.imported" for e in world.outbox())


def test_an_rpps_absent_from_the_national_data_is_422(world: World) -> None:
    with pytest.raises(NotInNationalDirectory) as caught:
        run(world, actor=ADMIN, rpps=NOBODY_RPPS)
    assert caught.value.status == 422 and caught.value.expression == "rpps"


@pytest.mark.parametrize("changes, expression", [({"family": "Lefèvre"}, "family"), ({"given": "Hélèna"}, "given")])
def test_a_name_that_does_not_match_is_422_and_leaves_no_trace(world: World, changes: dict[str, str],
                                                              expression: str) -> None:
    with pytest.raises(NameMismatch) as caught:
        run(world, **changes)
    assert caught.value.status == 422 and caught.value.expression == expression
    assert rows(world, enrolment) == [] and world.events("professional.enrolled") == []
    assert rows(world, mailbox, mailbox.c.address == enrolment_form()["mailbox"]) == []


def test_a_second_enrolment_of_the_same_rpps_is_409(world: World) -> None:
    run(world)
    with pytest.raises(AlreadyEnrolled) as caught:
        run(world, mailbox="autre.adresse@infirmier.mssante.fr")
    assert caught.value.status == 409
    assert len(world.events("professional.enrolled")) == 1


def test_enrolling_someone_else_is_403_and_an_admin_may_do_it(world: World) -> None:
    with pytest.raises(Forbidden) as caught:
        run(world, actor=professional(PAUL))
    assert caught.value.status == 403
    with pytest.raises(Forbidden):
        run(world, actor=Principal(subject="service:messaging", service="messaging"))
    assert run(world, actor=ADMIN).rpps == HELENE.rpps


def test_a_mailbox_of_someone_else_is_409_but_ones_own_is_reused(world: World) -> None:
    with pytest.raises(MailboxTaken) as caught:
        run(world, mailbox=PAUL_BOX)
    assert caught.value.status == 409 and caught.value.expression == "mailbox"
    assert "for someone else" in caught.value.message
    accepted = run(world, person=JEANNE, actor=professional(JEANNE), mailbox=JEANNE_BOX.upper())
    assert accepted.mailbox == JEANNE_BOX
    owners = rows(world, mailbox_owner, mailbox_owner.c.address == JEANNE_BOX)
    assert [o["owner_idnps"] for o in owners] == ["8" + JEANNE.rpps]


def test_a_certificate_given_with_the_form_is_stored_for_the_new_mailbox(world: World) -> None:
    pem = make_identity(make_ca("Enrolment CA"), "Helene Lefevre", email=personal_address(HELENE)).cert_pem.decode()
    accepted = run(world, certificate_pem=pem)
    [stored] = rows(world, certificate)
    assert (stored["mailbox_address"], stored["fingerprint"]) == (accepted.mailbox, accepted.certificate_fingerprint)
    [published] = world.events("certificate.published")
    validate_event_body("certificate.published", published)
    assert published["data"]["owners"] == ["8" + HELENE.rpps] and "pem" not in published["data"]


def test_an_enrolled_mailbox_outlives_the_next_mailbox_import(world: World, tmp_path: Path) -> None:
    created = run(world)  # a mailbox the national extract never listed
    claimed = run(world, person=JEANNE, actor=professional(JEANNE), mailbox=JEANNE_BOX)  # one it listed
    write_mailboxes(tmp_path / "mssante.txt", leave_out=(JEANNE_BOX, PAUL_BOX))
    report = import_extract(tmp_path / "mssante.txt", uow=world.uow)
    assert report.deactivated == 1  # Paul's: the import does deactivate what it owns and lost
    [paul] = rows(world, mailbox, mailbox.c.address == PAUL_BOX)
    assert not paul["active"]
    for accepted in (created, claimed):
        [box] = rows(world, mailbox, mailbox.c.address == accepted.mailbox)
        assert box["active"], accepted.mailbox
        owners = rows(world, mailbox_owner, mailbox_owner.c.address == accepted.mailbox)
        assert [(o["owner_idnps"], o["active"]) for o in owners] == [(accepted.idnps, True)]
    # The shared CAB mailbox still listed keeps both owners.
    cab = rows(world, mailbox_owner, mailbox_owner.c.address == CAB_BOX)
    expected = sorted([("8" + JEANNE.rpps, True), ("8" + PAUL.rpps, True)])
    assert sorted((o["owner_idnps"], o["active"]) for o in cab) == expected


def nothing_written(world: World) -> bool:
    return rows(world, enrolment) == [] and world.events("professional.enrolled") == [] and \
        world.events("certificate.published") == []


@pytest.mark.parametrize("address", [PLATFORM, "NE-PAS-REPONDRE@maillage.mssante.fr",
                                     "ne.pas.repondre@maillage.mssante.fr", "postmaster@maillage.mssante.fr",
                                     "abuse@medecin.mssante.fr"])
def test_taking_the_platform_address_or_a_role_address_is_403_for_anyone(world: World, address: str) -> None:
    fake = make_identity(make_ca("Takeover CA"), "Fake platform", email=PLATFORM).cert_pem.decode()
    for actor in (professional(HELENE), ADMIN):
        with pytest.raises(MailboxReserved) as caught:
            run(world, actor=actor, mailbox=address, certificate_pem=fake)
        assert caught.value.status == 403 and caught.value.expression == "mailbox"
    assert nothing_written(world) and rows(world, mailbox, mailbox.c.address == PLATFORM) == []


def test_a_new_address_outside_the_operated_domains_is_422(world: World) -> None:
    with pytest.raises(MailboxNotClaimable) as caught:
        run(world, mailbox=personal_address(HELENE, "infirmier.mssante.fr"))
    assert caught.value.status == 422 and caught.value.expression == "mailbox" and nothing_written(world)
    other = MailboxPolicy.of(("infirmier.mssante.fr",), PLATFORM)
    accepted = enrol(Enrol(**enrolment_form(mailbox=personal_address(HELENE, "infirmier.mssante.fr"))),
                     uow=world.uow(), actor=professional(HELENE), clock=world.clock, policy=other)
    assert accepted.mailbox == "helene.lefevre-d-ete@infirmier.mssante.fr"


def test_an_address_another_professional_claimed_is_409(world: World) -> None:
    claimed = run(world).mailbox  # Hélène's new address
    with pytest.raises(MailboxTaken) as caught:
        run(world, person=LUC, actor=professional(LUC), mailbox=claimed.upper())
    assert caught.value.status == 409 and "already claimed" in caught.value.message
    assert [e["data"]["rpps"] for e in world.events("professional.enrolled")] == [HELENE.rpps]
    owners = rows(world, mailbox_owner, mailbox_owner.c.address == claimed)
    assert [o["owner_idnps"] for o in owners] == ["8" + HELENE.rpps]


def test_a_shared_cabinet_mailbox_is_nobodys_personal_one(world: World) -> None:
    with pytest.raises(MailboxTaken):
        run(world, person=JEANNE, actor=professional(JEANNE), mailbox=CAB_BOX)  # listed for Jeanne and Paul


def test_a_certificate_given_with_the_form_may_not_name_someone_elses_address(world: World) -> None:
    ca = make_ca("Enrolment CA")
    with pytest.raises(MailboxTaken) as caught:
        run(world, certificate_pem=make_identity(ca, "Helene L", email=PAUL_BOX).cert_pem.decode())
    assert caught.value.expression == "certificate_pem" and nothing_written(world)
    with pytest.raises(MailboxReserved):
        run(world, certificate_pem=make_identity(ca, "Helene L", email=PLATFORM).cert_pem.decode())
    assert nothing_written(world)


def kit_of(world: World, enrolment_id: str) -> bool:
    [row] = rows(world, enrolment, enrolment.c.id == enrolment_id)
    return bool(row["kit_held"])


def test_with_a_certificate_the_kit_goes_at_once(world: World) -> None:
    pem = make_identity(make_ca("Enrolment CA"), "Helene Lefevre", email=personal_address(HELENE)).cert_pem.decode()
    accepted = run(world, certificate_pem=pem)
    assert not accepted.kit_held and not kit_of(world, accepted.id)
    [event] = world.events("professional.enrolled")
    assert event["data"]["account_kit"] == "sending"


def test_a_mailbox_whose_certificate_was_published_before_enrolment_gets_its_kit_at_once(world: World) -> None:
    box = make_identity(make_ca("Enrolment CA"), "Jeanne box", email=JEANNE_BOX).cert_pem.decode()
    publish_certificate(PublishCertificate(box, JEANNE_BOX), uow=world.uow(), actor=professional(JEANNE),
                        clock=world.clock, policy=MAILBOX_POLICY)
    accepted = run(world, person=JEANNE, actor=professional(JEANNE), mailbox=JEANNE_BOX)
    assert not accepted.kit_held and world.events("enrolment.completed") == []


def test_a_held_kit_is_released_once_by_the_first_certificate_of_the_mailbox(world: World) -> None:
    accepted = run(world)
    assert accepted.kit_held and kit_of(world, accepted.id)
    assert enrolment_of(accepted.id, read=world.read, actor=ADMIN).kit_held
    ca = make_ca("Later CA")
    first, created = publish_certificate(
        PublishCertificate(make_identity(ca, "Helene 1", email=accepted.mailbox).cert_pem.decode(), accepted.mailbox),
        uow=world.uow(), actor=professional(HELENE), clock=world.clock, policy=MAILBOX_POLICY)
    assert created and not kit_of(world, accepted.id)
    [completed] = world.events("enrolment.completed")
    validate_event_body("enrolment.completed", completed)
    assert completed["subject"] == f"Practitioner/{HELENE.rpps}"
    assert completed["data"] | {"completed_at": "x"} == {
        "schema_version": 1, "enrolment_id": accepted.id, "rpps": HELENE.rpps, "mailbox": accepted.mailbox,
        "display_name": "Mme Hélène LEFÈVRE-D'ÉTÉ", "certificate_fingerprint": first.fingerprint, "completed_at": "x"}
    publish_certificate(PublishCertificate(make_identity(ca, "Helene 2", email=accepted.mailbox).cert_pem.decode(),
                                           accepted.mailbox),
                        uow=world.uow(), actor=professional(HELENE), clock=world.clock, policy=MAILBOX_POLICY)
    assert len(world.events("enrolment.completed")) == 1


def test_a_professionals_own_certificate_releases_the_kit_of_the_mailbox_he_alone_owns(world: World) -> None:
    accepted = run(world)
    own = make_identity(make_ca("Later CA"), "Helene own", email=accepted.mailbox).cert_pem.decode()
    publish_certificate(PublishCertificate(own), uow=world.uow(), actor=professional(HELENE), clock=world.clock,
                        policy=MAILBOX_POLICY)
    [completed] = world.events("enrolment.completed")
    assert completed["data"]["enrolment_id"] == accepted.id and not kit_of(world, accepted.id)


def test_a_certificate_of_another_mailbox_or_professional_releases_nothing(world: World) -> None:
    accepted = run(world)
    ca = make_ca("Later CA")
    publish_certificate(PublishCertificate(make_identity(ca, "Paul own", email="").cert_pem.decode()), uow=world.uow(),
                        actor=professional(PAUL), clock=world.clock, policy=MAILBOX_POLICY)
    publish_certificate(PublishCertificate(make_identity(ca, "Paul box", email=PAUL_BOX).cert_pem.decode(), PAUL_BOX),
                        uow=world.uow(), actor=professional(PAUL), clock=world.clock, policy=MAILBOX_POLICY)
    assert world.events("enrolment.completed") == [] and kit_of(world, accepted.id)
    with world.engine.connect() as connection:
        assert not enrolment_store.kit_can_go(connection, accepted.mailbox, accepted.idnps, world.now)


def test_two_enrolments_of_one_new_mailbox_at_the_same_moment_leave_one_owner(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second one's rule check ran before the first committed (read committed): the database refuses it."""
    new = personal_address(HELENE)
    run(world, mailbox=new)
    # it saw the address free (and, a namesake, hers to take)
    monkeypatch.setattr(enrolment_handler, "check_claim", lambda *_args, **_kwargs: Claim.NEW)

    with pytest.raises(Conflict) as caught:
        run(world, person=JEANNE, actor=professional(JEANNE), mailbox=new)

    assert caught.value.status == 409 and caught.value.expression == "mailbox"
    assert [r["rpps"] for r in rows(world, enrolment, enrolment.c.mailbox == new)] == [HELENE.rpps]
    assert len(world.events("professional.enrolled")) == 1


@pytest.mark.parametrize("local", ["maillage-admin", "ne-pas-repondre1", "contact", "secretariat", "info",
                                   "jeanne.martin", "helene", "lefevre-d-ete.helene", "helene.lefevre-d-ete123"])
def test_a_new_address_that_is_not_the_professionals_name_is_refused_even_for_an_administrator(
        world: World, local: str) -> None:
    for actor in (professional(HELENE), ADMIN):
        with pytest.raises((MailboxNotClaimable, MailboxReserved)) as caught:
            run(world, actor=actor, mailbox=f"{local}@maillage.mssante.fr")
        assert caught.value.expression == "mailbox" and local not in caught.value.message
    assert nothing_written(world)
    assert run(world, mailbox=personal_address(HELENE).replace("@", "2@")).mailbox == \
        "helene.lefevre-d-ete2@maillage.mssante.fr"


def test_a_certificate_given_with_the_form_must_name_the_new_mailbox_and_nothing_unclaimed(world: World) -> None:
    ca = make_ca("Enrolment CA")
    with pytest.raises(CertificateNamesUnfit) as unfit:
        run(world, certificate_pem=make_identity(ca, "Helene no box", email="").cert_pem.decode())
    with pytest.raises(MailboxTaken) as unclaimed:
        run(world, certificate_pem=make_identity(ca, "Helene future", email=personal_address(HELENE),
                                                 more_emails=["future.victim@maillage.mssante.fr"]).cert_pem.decode())
    for caught in (unfit, unclaimed):
        assert caught.value.expression == "certificate_pem"
    assert (unfit.value.status, unclaimed.value.status) == (422, 409) and nothing_written(world)
