"""Administrators' API: patients' objections (INS checked, never echoed) and CPTS with territory and members."""
from __future__ import annotations

import pytest

from services.directory.domain.commands import CreateCpts
from services.directory.domain.errors import UnknownResource
from services.directory.handlers.cpts import cpts_of, create_cpts, set_membership
from services.directory.handlers.patients import objection_of, read_objection, record_objection
from services.shared.errors import Conflict, Forbidden, Invalid
from tests.unit.directory.directory_world import (
    ADMIN,
    CPTS_FINESS,
    HOSPITAL_FINESS,
    JEANNE,
    NOBODY_RPPS,
    PAUL,
    World,
    professional,
)

INS = "279035121518989"


def test_objections_are_recorded_by_administrators_only_and_replaced_whole(world: World) -> None:
    with pytest.raises(Forbidden):
        record_objection(INS, True, True, uow=world.uow(), actor=professional(JEANNE), clock=world.clock)
    first = record_objection(INS, True, True, uow=world.uow(), actor=ADMIN, clock=world.clock)
    assert (first.recorded_by, first.recorded_at) == ("admin", world.now)
    record_objection(INS, False, True, uow=world.uow(), actor=ADMIN, clock=world.clock)
    now = objection_of(INS, read=world.read)
    assert (now.objects_to_exchange, now.refuses_dmp) == (False, True)
    assert read_objection(INS, read=world.read, actor=ADMIN) == now
    with pytest.raises(Forbidden):
        read_objection(INS, read=world.read, actor=professional(JEANNE))


def test_a_malformed_ins_is_refused_before_anything_is_written(world: World) -> None:
    with pytest.raises(Invalid, match="check key"):
        record_objection("279035121518988", True, True, uow=world.uow(), actor=ADMIN, clock=world.clock)
    assert objection_of(INS, read=world.read).recorded_at is None


def test_a_cpts_is_created_with_its_territory_by_an_administrator(world: World) -> None:
    command = CreateCpts(CPTS_FINESS, " CPTS  Paris Est ", communes=("75111", "75120"), postal_codes=("75011",))
    with pytest.raises(Forbidden):
        create_cpts(command, uow=world.uow(), actor=professional(JEANNE), clock=world.clock)
    created = create_cpts(command, uow=world.uow(), actor=ADMIN, clock=world.clock)
    assert (created.organisation, created.name, created.communes) == (
        f"F{CPTS_FINESS}", "CPTS Paris Est", frozenset({"75111", "75120"}))
    assert cpts_of(CPTS_FINESS, read=world.read) == created
    with pytest.raises(Conflict):
        create_cpts(command, uow=world.uow(), actor=ADMIN, clock=world.clock)


def test_an_imported_organisation_can_become_a_cpts(world: World) -> None:
    created = create_cpts(CreateCpts(HOSPITAL_FINESS, "ignored", postal_codes=("34000",)), uow=world.uow(),
                          actor=ADMIN, clock=world.clock)
    assert (created.organisation, created.name) == (f"F{HOSPITAL_FINESS}", "HÔPITAL SAINT-ÉLOI")


@pytest.mark.parametrize("communes, codes, expression", [((), (), "communes"), (("7511",), (), "communes"),
                                                         ((), ("7501",), "postal_code")])
def test_a_territory_must_be_well_formed(world: World, communes: tuple[str, ...], codes: tuple[str, ...],
                                         expression: str) -> None:
    with pytest.raises(Invalid) as caught:
        create_cpts(CreateCpts(CPTS_FINESS, "CPTS", communes, codes), uow=world.uow(), actor=ADMIN, clock=world.clock)
    assert caught.value.expression == expression


def test_members_come_and_go_idempotently(world: World) -> None:
    create_cpts(CreateCpts(CPTS_FINESS, "CPTS", communes=("2A004",)), uow=world.uow(), actor=ADMIN, clock=world.clock)
    for _ in range(2):
        assert "8" + JEANNE.rpps in set_membership(CPTS_FINESS, JEANNE.rpps, True, uow=world.uow(), actor=ADMIN,
                                                   clock=world.clock).members
    set_membership(CPTS_FINESS, "8" + PAUL.rpps, True, uow=world.uow(), actor=ADMIN, clock=world.clock)
    for _ in range(2):
        set_membership(CPTS_FINESS, JEANNE.rpps, False, uow=world.uow(), actor=ADMIN, clock=world.clock)
    assert cpts_of(CPTS_FINESS, read=world.read).members == frozenset({"8" + PAUL.rpps})
    with pytest.raises(UnknownResource):
        set_membership(CPTS_FINESS, NOBODY_RPPS, True, uow=world.uow(), actor=ADMIN, clock=world.clock)
    with pytest.raises(UnknownResource):
        set_membership("750000044", JEANNE.rpps, True, uow=world.uow(), actor=ADMIN, clock=world.clock)
    with pytest.raises(Forbidden):
        set_membership(CPTS_FINESS, JEANNE.rpps, True, uow=world.uow(), actor=professional(JEANNE), clock=world.clock)
