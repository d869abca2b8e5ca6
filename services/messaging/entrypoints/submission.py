"""HTTP edge for sending: the JSON API (or an S/MIME body) and FHIR Communication. Parse, submit, serialise."""
from __future__ import annotations

from typing import Any

from services.messaging.adapters import fhir, http_requests
from services.messaging.adapters.api_models import ReceiptOut, SendMessageIn
from services.messaging.dependencies import utc_now
from services.messaging.domain.limits import HTTP_MAX_BODY
from services.messaging.handlers.submission import Submission, submit
from services.shared.web import ApiOperation, FhirInteraction, http, read_fhir_resource

SEND = ApiOperation(
    "Send a secure message (JSON, or an application/pkcs7-mime body routed end to end)",
    request_schema=SendMessageIn.model_json_schema(), response_schema=ReceiptOut.model_json_schema(),
    responses={202: "Accepted and committed; each recipient is pending or bounced",
               403: "The caller does not own the sender mailbox", 413: "Too large",
               422: "Refused: patient objection, reused Idempotency-Key, unusable sender mailbox"},
)


class SubmissionRoutes:
    db: Any
    directory: Any
    platform: Any
    committer: Any

    @http("POST", "/api/v1/messages", api=SEND, max_body_bytes=HTTP_MAX_BODY)
    def send_message(self, request: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
        author = http_requests.author_of(request.principal)
        key = http_requests.idempotency_of(request, author)
        limits = self.platform.settings.limits
        if request.mimetype in http_requests.SMIME_TYPES:
            command = http_requests.command_from_smime(request, author, key, limits)
        else:
            body = http_requests.send_from_request(request)
            command = http_requests.command_from_json(body, author, key, limits)
        return _accepted(self._submit(command), lambda body: body)

    @http("POST", "/fhir/Communication", fhir=FhirInteraction("Communication", "create"),
          max_body_bytes=HTTP_MAX_BODY)
    def send_communication(self, request: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
        author = http_requests.author_of(request.principal)
        key = http_requests.idempotency_of(request, author)
        data = fhir.communication_to_request(read_fhir_resource(request, "Communication"))
        with fhir.fhir_expressions(data.pop("_payload_of_attachment")):
            body = http_requests.parse_send(data)
            command = http_requests.command_from_json(body, author, key, self.platform.settings.limits)
            return _accepted(self._submit(command), fhir.receipt_to_communication)

    def _submit(self, command: Any) -> Submission:
        return submit(command, uow=self.db.uow(), directory=self.directory, platform=self.platform, clock=utc_now,
                      commit=self.committer.bind(self.db.uow))


def _accepted(submission: Submission, render: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
    headers = {"Location": submission.body["links"]["sent"]}
    if submission.replayed:
        headers["Idempotent-Replayed"] = "true"
    return 202, headers, render(submission.body)
