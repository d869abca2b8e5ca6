"""Enrolment against a real (SQLite) directory: every rule, the mailbox it creates, the event it announces."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.directory.adapters.tables import certificate, enrolment, mailbox, mailbox_owner
from services.directory.domain.enrolment import Enrol
from services.directory.domain.errors import AlreadyEnrolled, MailboxTaken, NameMismatch, NotInNationalDirectory
from services.directory.handlers.enrolment import enrol, enrolment_of
from services.directory.importer import import_extract
from services.messaging.crypto.testing import make_ca, make_identity
from services.shared.auth import Principal
from services.shared.bus.schemas import validate_event_body
from services.shared.errors import Forbidden, Invalid
from tests.unit.directory.directory_world import (
    ADMIN,
    CAB_BOX,
    HELENE,
    JEANNE,
    JEANNE_BOX,
    NOBODY_RPPS,
    PAUL,
    PAUL_BOX,
    World,
    enrolment_form,
    professional,
    write_mailboxes,
)


def run(world: World, actor: Principal | None = None, **changes: Any) -> Any:
    form = enrolment_form(changes.pop("person", HELENE), **changes)
    return enrol(Enrol(**form), uow=world.uow(), actor=actor or professional(HELENE), clock=world.clock)


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
        "display_name": "Mme Hélène LEFÈVRE-D'ÉTÉ", "enrolled_at": world.now.isoformat(timespec="seconds")}
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
    accepted = run(world, person=JEANNE, actor=professional(JEANNE), mailbox=JEANNE_BOX.upper())
    assert accepted.mailbox == JEANNE_BOX
    owners = rows(world, mailbox_owner, mailbox_owner.c.address == JEANNE_BOX)
    assert [o["owner_idnps"] for o in owners] == ["8" + JEANNE.rpps]


def test_a_certificate_given_with_the_form_is_stored_for_the_new_mailbox(world: World) -> None:
    pem = make_identity(make_ca("Enrolment CA"), "Helene Lefevre").cert_pem.decode()
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
