"""HTTP edge of mailboxes: list, read (ciphertext), mark read, delete, restore; owners only."""
from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from werkzeug.wrappers import Response

from services.messaging.adapters import http_queries, http_requests, serialise
from services.messaging.dependencies import utc_now
from services.messaging.handlers import mailbox as handlers
from services.shared.pki.smime import ENVELOPED_DATA, wrap_pkcs7_mime
from services.shared.web import ApiOperation, ApiParam, http

BASE = "/api/v1/mailboxes/<address>/messages"
OWNERS = {403: "Not an owner of this mailbox", 404: "Unknown mailbox or message"}
_FLAG = {"type": "string", "enum": ["true", "false", "1", "0"]}
LIST_PARAMETERS = (
    ApiParam("folder", {"type": "string", "enum": ["inbox", "sent"]}, description="inbox by default"),
    ApiParam("limit", {"type": "integer", "minimum": 1, "maximum": http_queries.MAX_PAGE}, description="50 by default"),
    ApiParam("cursor", {"type": "string", "maxLength": 200}, description="From the previous page's next link"),
    ApiParam("unread", _FLAG), ApiParam("deleted", _FLAG, description="Deleted messages (restorable) instead"),
    ApiParam("since", {"type": "string", "format": "date-time"}),
)


class MailboxRoutes:
    db: Any
    directory: Any
    platform: Any

    @http("GET", BASE, api=ApiOperation("List a mailbox folder, newest first (cursor paging)", responses={
        200: "A page of messages (metadata only) and the next page's link", **OWNERS}, parameters=LIST_PARAMETERS))
    def list_messages(self, request: Any, address: str) -> dict[str, Any]:
        query = http_queries.mailbox_query(address, request.args)
        page = handlers.list_messages(query, http_requests.author_of(request.principal), uow=self.db.uow(),
                                      directory=self.directory)
        return serialise.page_body(page, query)

    @http("GET", BASE + "/<message_id>", api=ApiOperation("Read one message: ciphertext (base64) and metadata",
                                                         responses={200: "The message", **OWNERS}))
    def get_message(self, request: Any, address: str, message_id: str) -> Any:
        action = self._action(request, address, message_id)
        entry = handlers.read_message(action, uow=self.db.uow(), directory=self.directory, clock=utc_now)
        if "application/pkcs7-mime" in request.headers.get("Accept", ""):
            return Response(wrap_pkcs7_mime(entry.ciphertext or b"", ENVELOPED_DATA),
                            content_type=f"{serialise.SMIME_ENVELOPED}; name=smime.p7m")
        return serialise.entry_body(entry)

    @http("POST", BASE + "/<message_id>/read", api=ApiOperation(
        "Mark a message read (sends the read receipt if the sender asked)", responses={200: "Read", **OWNERS}))
    def mark_read(self, request: Any, address: str, message_id: str) -> dict[str, Any]:
        action = self._action(request, address, message_id)
        return serialise.entry_body(handlers.mark_read(action, uow=self.db.uow(), directory=self.directory,
                                                       clock=utc_now))

    @http("DELETE", BASE + "/<message_id>", api=ApiOperation("Delete a message (restorable for 30 days)",
                                                            responses={200: "Deleted", **OWNERS}))
    def delete_message(self, request: Any, address: str, message_id: str) -> dict[str, Any]:
        action = self._action(request, address, message_id)
        return serialise.entry_body(handlers.delete(action, uow=self.db.uow(), directory=self.directory,
                                                    clock=utc_now))

    @http("POST", BASE + "/<message_id>/restore", api=ApiOperation("Restore a deleted message", responses={
        200: "Restored", 409: "Deleted too long ago", **OWNERS}))
    def restore_message(self, request: Any, address: str, message_id: str) -> dict[str, Any]:
        action = self._action(request, address, message_id)
        return serialise.entry_body(handlers.restore(action, uow=self.db.uow(), directory=self.directory,
                                                     platform=self.platform, clock=utc_now))

    @http("GET", "/api/v1/mailboxes/<address>/certificate", api=ApiOperation(
        "The encryption certificate of a mailbox (PEM), to encrypt end to end", responses={
            200: "PEM certificate", 404: "Unknown mailbox, or it cannot receive encrypted messages"}))
    def mailbox_certificate(self, request: Any, address: str) -> Response:
        mailbox = http_queries.mailbox_query(address, {}).mailbox
        cert = handlers.certificate_of(mailbox, self.directory, utc_now)
        return Response(cert.public_bytes(serialization.Encoding.PEM), content_type="application/x-pem-file")

    @http("GET", "/api/v1/messaging/operator-certificates", api=ApiOperation(
        "The certificates that verify platform signatures (PEM)", responses={200: "PEM bundle"}))
    def operator_certificates(self, request: Any) -> Response:
        return Response(self.platform.operator.chain_pem, content_type="application/pem-certificate-chain")

    def _action(self, request: Any, address: str, message_id: str) -> Any:
        return http_queries.entry_action(address, message_id, request.args,
                                         http_requests.author_of(request.principal))
