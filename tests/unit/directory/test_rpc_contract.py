"""The RPC handlers answer exactly schemas/rpc/directory.json, the contract the messaging service codes against."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.directory.domain.commands import CreateCpts, PublishCertificate
from services.directory.handlers import rpc
from services.directory.handlers.certificates import publish_certificate, revoke_certificate
from services.directory.handlers.cpts import create_cpts, set_membership
from services.directory.handlers.patients import record_objection
from services.shared.errors import Invalid
from tests.support.pki import make_ca, make_identity
from tests.unit.directory.directory_world import (
    ADMIN,
    CAB_BOX,
    CPTS_FINESS,
    JEANNE,
    JEANNE_BOX,
    LUC,
    MAILBOX_POLICY,
    PAUL,
    PAUL_BOX,
    World,
    professional,
    rpc_validator,
)

CA = make_ca("RPC Test CA")
OBJECTING_INS = "279035121518989"


def valid(method: str, result: Any) -> Any:
    errors = [error.message for error in rpc_validator(method).iter_errors(result)]
    assert errors == [], errors
    return result


def test_resolve_addresses_keys_by_the_address_as_asked(world: World) -> None:
    asked = [JEANNE_BOX.upper(), CAB_BOX, "personne@nulle-part.mssante.fr"]
    result = valid("resolve_addresses", rpc.resolve_addresses(asked, read=world.read, clock=world.clock))
    assert list(result) == asked and result["personne@nulle-part.mssante.fr"] is None
    jeanne = result[JEANNE_BOX.upper()]
    assert (jeanne["address"], jeanne["type"], jeanne["active"]) == (JEANNE_BOX, "PER", True)
    assert jeanne["owners"] == [{"rpps": JEANNE.rpps, "idnps": "8" + JEANNE.rpps, "display_name": "Dr Jeanne MARTIN"}]
    assert jeanne["certificate_pem"] is None and jeanne["certificate_fingerprint"] is None
    assert {o["rpps"] for o in result[CAB_BOX]["owners"]} == {JEANNE.rpps, PAUL.rpps}


def test_the_mailbox_certificate_wins_else_its_single_owners_own(world: World) -> None:
    own = make_identity(CA, "Paul Durand personal", email="")  # IGC-Santé style: no address
    publish_certificate(PublishCertificate(own.cert_pem.decode()), uow=world.uow(), actor=professional(PAUL),
                        clock=world.clock, policy=MAILBOX_POLICY)
    answer = rpc.resolve_addresses([PAUL_BOX, CAB_BOX], read=world.read, clock=world.clock)
    assert answer[PAUL_BOX]["certificate_pem"] == own.cert_pem.decode()
    assert answer[CAB_BOX]["certificate_pem"] is None  # two owners: no single owner's certificate stands in
    paul_box = make_identity(CA, "Paul box", email=PAUL_BOX).cert_pem.decode()
    box, _ = publish_certificate(PublishCertificate(paul_box, PAUL_BOX),
                                 uow=world.uow(), actor=professional(PAUL), clock=world.clock,
                                 policy=MAILBOX_POLICY)
    answer = valid("resolve_addresses", rpc.resolve_addresses([PAUL_BOX], read=world.read, clock=world.clock))
    assert answer[PAUL_BOX]["certificate_fingerprint"] == box.fingerprint
    revoke_certificate(box.fingerprint, uow=world.uow(), actor=professional(PAUL), clock=world.clock)
    later = world.now + timedelta(days=4000)  # past every certificate's end
    answer = rpc.resolve_addresses([PAUL_BOX], read=world.read, clock=lambda: later)
    assert answer[PAUL_BOX]["certificate_pem"] is None


def test_resolve_addresses_takes_at_most_a_hundred(world: World) -> None:
    with pytest.raises(Invalid, match="100"):
        rpc.resolve_addresses([f"a{n}@b.fr" for n in range(101)], read=world.read, clock=world.clock)


@pytest.mark.parametrize("identifier", [JEANNE.rpps, "8" + JEANNE.rpps])
def test_lookup_professional_by_rpps_or_idnps(world: World, identifier: str) -> None:
    found = valid("lookup_professional", rpc.lookup_professional(identifier, read=world.read))
    assert found == {"rpps": JEANNE.rpps, "idnps": "8" + JEANNE.rpps, "family": "MARTIN", "given": "Jeanne",
                     "profession_code": "10", "specialty_code": "SM53", "active": True,
                     "mailboxes": sorted([CAB_BOX, JEANNE_BOX])}


@pytest.mark.parametrize("identifier", ["10001000032", "not-an-id", "899999999999"])
def test_lookup_professional_of_nobody_is_null(world: World, identifier: str) -> None:
    assert valid("lookup_professional", rpc.lookup_professional(identifier, read=world.read)) is None


def test_exchange_objection_defaults_to_none_then_follows_the_record(world: World) -> None:
    answer = valid("exchange_objection", rpc.exchange_objection(OBJECTING_INS, read=world.read))
    assert answer == {"objects_to_exchange": False, "refuses_dmp": False}
    record_objection(OBJECTING_INS, True, False, uow=world.uow(), actor=ADMIN, clock=world.clock)
    answer = valid("exchange_objection", rpc.exchange_objection(OBJECTING_INS, read=world.read))
    assert answer == {"objects_to_exchange": True, "refuses_dmp": False}
    with pytest.raises(Invalid):
        rpc.exchange_objection("279035121518988", read=world.read)


def test_cpts_members_and_professionals_serving(world: World) -> None:
    create_cpts(CreateCpts(CPTS_FINESS, "CPTS Paris 11", postal_codes=("75011",)), uow=world.uow(), actor=ADMIN,
                clock=world.clock)
    for person in (JEANNE, LUC):
        set_membership(CPTS_FINESS, person.rpps, True, uow=world.uow(), actor=ADMIN, clock=world.clock)
    members = valid("cpts_members", rpc.cpts_members(CPTS_FINESS, read=world.read))
    assert sorted(m["rpps"] for m in members) == sorted([JEANNE.rpps, LUC.rpps])
    assert valid("cpts_members", rpc.cpts_members("750000044", read=world.read)) == []
    serving = valid("professionals_serving", rpc.professionals_serving("10", "75011", read=world.read))
    assert {JEANNE.rpps, PAUL.rpps} <= {p["rpps"] for p in serving}
    assert all(p["profession_code"] == "10" for p in serving)
    assert [(p["family"], p["given"]) for p in serving] == sorted((p["family"], p["given"]) for p in serving)
    with pytest.raises(Invalid):
        rpc.professionals_serving("10", "750", read=world.read)
