"""JSON API of enrolment and certificates: professionals for themselves, administrators on their behalf."""
from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

from services.directory.adapters import api_bodies
from services.directory.adapters.api_models import ENROLMENT_RESPONSE, CertificateRequest, EnrolmentRequest
from services.directory.adapters.connections import reader, utc_now
from services.directory.domain.mailboxes import MailboxPolicy
from services.directory.handlers import certificates, enrolment
from services.shared.nameko_ext.config import settings_of
from services.shared.web import ApiOperation, ApiParam, http, read_json
from services.shared.web.capabilities import MAIL_ADDRESS, RPPS

_OWNER = {403: "Not the owner (nor an administrator)", 404: "Unknown mailbox, professional or certificate"}
_CHECKS = {400: "Malformed field (named in `expression`)", 422: "The certificate cannot serve (the detail says why)"}


class MailboxPolicyProvider(DependencyProvider):
    """The domains the platform operates and its own sender address, from the settings, for the mailbox rule."""

    policy: MailboxPolicy

    def setup(self) -> None:
        settings = settings_of(self.container)
        self.policy = MailboxPolicy.of(settings.messaging_domains, settings.platform_address)

    def get_dependency(self, worker_ctx: Any) -> MailboxPolicy:
        return self.policy


class EnrolmentRoutes:
    db: Any
    mailbox_policy = MailboxPolicyProvider()

    @http("POST", "/api/v1/enrolments", max_body_bytes=64 * 1024, api=ApiOperation(
        "Enrol: the regional form, for your own RPPS number (administrators: for anyone)",
        request_schema=EnrolmentRequest.model_json_schema(), response_schema=ENROLMENT_RESPONSE, responses={
            201: "Enrolled: mailbox created; `account_kit_status` says whether the account kit is on its way by "
                 "secure message (`sending`) or held until a certificate is published for the mailbox (`held`)",
            **_CHECKS,
            403: "Not your RPPS number, or a mailbox address reserved to the platform (postmaster, no-reply, "
                 "maillage-admin and their variants...), or one the certificate names",
            409: "Already enrolled, or a mailbox address listed for or claimed by someone else, or the certificate "
                 "names an address that is not yours",
            422: "Unknown RPPS number, names not matching the national directory, unusable certificate (or one not "
                 "naming the mailbox, or naming what is not a plain address), or a new mailbox address outside the "
                 "domains the platform operates or not your given and family names (prenom.nom, optionally followed "
                 "by a one- or two-digit number)"}))
    def enrol(self, request: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
        form = read_json(request, model=EnrolmentRequest).command()
        accepted = enrolment.enrol(form, uow=self.db.uow(), actor=request.principal, clock=utc_now,
                                   policy=self.mailbox_policy)
        return 201, {"Location": f"/api/v1/enrolments/{accepted.id}"}, api_bodies.enrolment(accepted)

    @http("GET", "/api/v1/enrolments/<enrolment_id>", api=ApiOperation(
        "An enrolment (the professional himself or an administrator)", response_schema=ENROLMENT_RESPONSE,
        responses={200: "The enrolment", **_OWNER}))
    def get_enrolment(self, request: Any, enrolment_id: str) -> dict[str, Any]:
        found = enrolment.enrolment_of(enrolment_id, read=reader(self.db.engine), actor=request.principal)
        return api_bodies.enrolment(found)

    @http("POST", "/api/v1/directory/certificates", max_body_bytes=64 * 1024, api=ApiOperation(
        "Publish an encryption certificate for a mailbox you own, or for your own professional record",
        request_schema=CertificateRequest.model_json_schema(), responses={
            201: "Published (an account kit held for the mailbox leaves now)",
            200: "Already published (same certificate, same owner)", **_CHECKS, **_OWNER,
            403: "Not the owner (nor an administrator), or a mailbox address reserved to the platform, named as "
                 "`mailbox` or in the certificate",
            409: "The certificate is revoked or belongs to another owner, or names someone else's mailbox address "
                 "or one its owners do not hold",
            422: "The certificate cannot serve (the detail says why), names what is not a plain address (in its "
                 "subject alternative names, e-mail address or common name), or does not name the mailbox it is "
                 "published for"}))
    def publish_certificate(self, request: Any) -> tuple[int, dict[str, Any]]:
        command = read_json(request, model=CertificateRequest).command()
        view, created = certificates.publish_certificate(command, uow=self.db.uow(), actor=request.principal,
                                                         clock=utc_now, policy=self.mailbox_policy)
        return (201 if created else 200), api_bodies.certificate(view, utc_now())

    @http("GET", "/api/v1/directory/certificates", api=ApiOperation(
        "The certificates of a mailbox (?mailbox=) or of a professional (?rpps=), newest first",
        responses={200: "Certificates with their status", 400: "Neither mailbox nor rpps", 404: "Unknown owner"},
        parameters=(ApiParam("mailbox", MAIL_ADDRESS), ApiParam("rpps", RPPS))))
    def list_certificates(self, request: Any) -> dict[str, Any]:
        found = certificates.certificates_of(read=reader(self.db.engine), mailbox=request.args.get("mailbox"),
                                             rpps=request.args.get("rpps"))
        return api_bodies.certificates(found, utc_now())

    @http("POST", "/api/v1/directory/certificates/<fingerprint>/revoke", api=ApiOperation(
        "Revoke a certificate (its owners or an administrator); revoking twice changes nothing",
        responses={200: "Revoked", **_OWNER}))
    def revoke_certificate(self, request: Any, fingerprint: str) -> dict[str, Any]:
        view = certificates.revoke_certificate(fingerprint, uow=self.db.uow(), actor=request.principal, clock=utc_now)
        return api_bodies.certificate(view, utc_now())
