"""JSON API for administrators: patients' objections and CPTS with their territory and members."""
from __future__ import annotations

from typing import Any

from services.directory.adapters import api_bodies
from services.directory.adapters.api_models import CptsRequest, MemberRequest, ObjectionRequest
from services.directory.adapters.connections import reader, utc_now
from services.directory.handlers import cpts, patients
from services.shared.web import ApiOperation, http, read_json

_ADMIN = {403: "Reserved to administrators"}
_CPTS = "/api/v1/directory/cpts/<finess>"


class AdminRoutes:
    db: Any

    @http("PUT", "/api/v1/directory/patients/<ins>/objection", api=ApiOperation(
        "Record what a patient objects to: exchange between professionals, feeding the DMP",
        request_schema=ObjectionRequest.model_json_schema(), responses={
            200: "Recorded", 400: "Malformed INS (15 characters, valid key) or body", **_ADMIN}))
    def record_objection(self, request: Any, ins: str) -> dict[str, Any]:
        body = read_json(request, model=ObjectionRequest)
        recorded = patients.record_objection(ins, body.objects_to_exchange, body.refuses_dmp, uow=self.db.uow(),
                                             actor=request.principal, clock=utc_now)
        return api_bodies.objection(recorded)

    @http("GET", "/api/v1/directory/patients/<ins>/objection", api=ApiOperation(
        "What a patient objects to (no record: no objection)", responses={200: "The objections", **_ADMIN}))
    def get_objection(self, request: Any, ins: str) -> dict[str, Any]:
        found = patients.read_objection(ins, read=reader(self.db.engine), actor=request.principal)
        return api_bodies.objection(found)

    @http("POST", "/api/v1/directory/cpts", api=ApiOperation(
        "Create a CPTS with its territory (INSEE communes, postal codes)",
        request_schema=CptsRequest.model_json_schema(),
        responses={201: "Created", 409: "A CPTS with this FINESS exists", **_ADMIN}))
    def create_cpts(self, request: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
        command = read_json(request, model=CptsRequest).command()
        created = cpts.create_cpts(command, uow=self.db.uow(), actor=request.principal, clock=utc_now)
        finess = command.finess.upper()
        return 201, {"Location": f"/api/v1/directory/cpts/{finess}"}, api_bodies.cpts(created, finess)

    @http("GET", _CPTS, api=ApiOperation("A CPTS: territory and members", responses={
        200: "The CPTS", 404: "No CPTS with this FINESS"}))
    def get_cpts(self, request: Any, finess: str) -> dict[str, Any]:
        return api_bodies.cpts(cpts.cpts_of(finess, read=reader(self.db.engine)), finess)

    @http("POST", _CPTS + "/members", api=ApiOperation(
        "Add a member (by RPPS or IDNPS); adding twice changes nothing",
        request_schema=MemberRequest.model_json_schema(), responses={200: "Member", 404: "Unknown CPTS or professional",
                                                                    **_ADMIN}))
    def add_member(self, request: Any, finess: str) -> dict[str, Any]:
        identifier = read_json(request, model=MemberRequest).rpps
        updated = cpts.set_membership(finess, identifier, True, uow=self.db.uow(), actor=request.principal,
                                      clock=utc_now)
        return api_bodies.cpts(updated, finess)

    @http("DELETE", _CPTS + "/members/<identifier>", api=ApiOperation(
        "Remove a member (by RPPS or IDNPS); removing twice changes nothing",
        responses={200: "Removed", 404: "Unknown CPTS", **_ADMIN}))
    def remove_member(self, request: Any, finess: str, identifier: str) -> dict[str, Any]:
        updated = cpts.set_membership(finess, identifier, False, uow=self.db.uow(), actor=request.principal,
                                      clock=utc_now)
        return api_bodies.cpts(updated, finess)
