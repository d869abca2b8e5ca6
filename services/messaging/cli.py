"""`maillage mail send|list|read`: secure messages from the command line, decrypted and verified locally."""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509

from services.messaging import cli_local
from services.messaging.client import MailClient
from services.shared.cli_errors import UserError
from services.shared.pki.certs import PrivateKey
from services.shared.settings import read_settings

KeyOption = Annotated[Path | None, typer.Option("--key", help="Your private key (PEM), to sign or decrypt.")]
CertOption = Annotated[Path | None, typer.Option("--cert", help="Your certificate (PEM).")]
UrlOption = Annotated[str | None, typer.Option("--url", envvar="MAILLAGE_URL", help="Maillage base URL.")]
TokenOption = Annotated[str, typer.Option("--token", envvar="MAILLAGE_TOKEN", help="Bearer token (maillage token).")]


def _client(url: str | None, token: str) -> MailClient:
    if not token:
        raise UserError("No bearer token: give --token or set MAILLAGE_TOKEN (see maillage token).")
    return MailClient(url or f"http://{read_settings().http_address}", token)


def _identity(key: Path | None, cert: Path | None) -> tuple[x509.Certificate, PrivateKey] | None:
    if (key is None) != (cert is None):
        raise UserError("Give both --key and --cert, or neither.")
    return cli_local.load_identity(key, cert) if key and cert else None


def register(app: typer.Typer) -> None:
    mail = typer.Typer(help="Send and read secure messages (MSSanté style).", no_args_is_help=True)
    app.add_typer(mail, name="mail")
    mail.command("send")(send)
    mail.command("list")(list_messages)
    mail.command("read")(read)


def send(
    sender: Annotated[str, typer.Option("--from", help="Your mailbox.")],
    to: Annotated[list[str], typer.Option("--to", help="A recipient; repeat for several.")],
    subject: Annotated[str, typer.Option(help="The subject.")],
    body: Annotated[str | None, typer.Option(help="The text of the message.")] = None,
    body_file: Annotated[Path | None, typer.Option(help="Read the text from this file.")] = None,
    cc: Annotated[list[str] | None, typer.Option("--cc", help="A copy recipient.")] = None,
    attach: Annotated[list[Path] | None,
                      typer.Option(help="A file to attach (PDF, CDA XML, FHIR JSON, XDM zip).")] = None,
    receipt: Annotated[bool, typer.Option(help="Ask for a read receipt.")] = False,
    e2e: Annotated[bool, typer.Option(help="Encrypt here for each recipient too (end to end).")] = False,
    key: KeyOption = None, cert: CertOption = None, url: UrlOption = None, token: TokenOption = "",
    idempotency_key: Annotated[str | None, typer.Option(help="Make a retry count once.")] = None,
) -> None:
    """Send a message; with --key/--cert it is signed here, with --e2e also encrypted here."""
    text = body_file.read_text() if body_file else body
    if text is None:
        raise UserError("Give the text of the message with --body or --body-file.")
    client, identity, copies = _client(url, token), _identity(key, cert), list(cc or [])
    payload: dict[str, object] = {"sender": sender, "to": to, "cc": copies, "read_receipt": receipt}
    if identity is None:
        if e2e:
            raise UserError("--e2e signs and encrypts here: give --key and --cert too.")
        payload.update(subject=subject, body={"text": text}, attachments=cli_local.attachments_json(attach or []))
    else:
        signed = cli_local.signed_mime(sender, to, copies, subject, text, list(attach or []), identity, receipt)
        if e2e:
            pems = [client.certificate(address) for address in [*to, *copies, sender]]
            payload["encrypted_mime"] = base64.b64encode(cli_local.sealed_for(signed, pems)).decode()
        else:
            payload["signed_mime"] = base64.b64encode(signed).decode()
    answer = client.send(payload, idempotency_key)
    typer.echo(f"message {answer['id']} accepted")
    for recipient in answer["recipients"]:
        reason = f" — {recipient['reason']}" if recipient.get("reason") else ""
        typer.echo(f"  {recipient['address']}: {recipient['status']}{reason}")


def list_messages(
    mailbox: Annotated[str, typer.Argument(help="The mailbox to list.")],
    unread: Annotated[bool, typer.Option(help="Only unread messages.")] = False,
    folder: Annotated[str, typer.Option(help="inbox or sent.")] = "inbox",
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    key: KeyOption = None, cert: CertOption = None, url: UrlOption = None, token: TokenOption = "",
) -> None:
    """List a mailbox folder; with --key/--cert each subject is decrypted here."""
    client, identity = _client(url, token), _identity(key, cert)
    page = client.list(mailbox, folder=folder, limit=str(limit), unread="true" if unread else "")
    for item in page["messages"]:
        subject = ""
        if identity is not None:
            opened = cli_local.open_message(client.get(mailbox, item["id"])["ciphertext"], identity, [])
            subject = opened.content.subject
        mark = " " if item["read"] else "*"
        typer.echo(f"{mark} {item['id']}  {item['submitted_at'][:16]}  {item['sender']}  {subject}".rstrip())
    if not page["messages"]:
        typer.echo("no message")


def read(
    mailbox: Annotated[str, typer.Argument(help="Your mailbox.")],
    message_id: Annotated[str, typer.Argument(help="The message id (see maillage mail list).")],
    key: Annotated[Path, typer.Option("--key", help="Your private key (PEM).")],
    cert: Annotated[Path, typer.Option("--cert", help="Your certificate (PEM).")],
    trust: Annotated[list[Path] | None, typer.Option(help="A CA (PEM) trusted for senders' signatures.")] = None,
    save: Annotated[Path | None, typer.Option(help="Save the attachments in this folder.")] = None,
    keep_unread: Annotated[bool, typer.Option(help="Do not mark the message read.")] = False,
    url: UrlOption = None, token: TokenOption = "",
) -> None:
    """Decrypt and verify a message here, print it, save its attachments, mark it read."""
    client = _client(url, token)
    anchors = [client.operator_certificates(), *(path.read_bytes() for path in trust or [])]
    opened = cli_local.open_message(client.get(mailbox, message_id)["ciphertext"], cli_local.load_identity(key, cert),
                                    anchors)
    content = opened.content
    for name in ("From", "To", "Cc", "Date"):
        if content.headers.get(name):
            typer.echo(f"{name}: {content.headers[name]}")
    typer.echo(f"Subject: {content.subject}")
    verdict = "verified" if opened.trusted else "intact, but the signer is not from a trusted authority (--trust)"
    typer.echo(f"Signed by: {opened.signer} ({verdict})\n\n{content.text}")
    for attachment in content.attachments:
        where = ""
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            (save / Path(attachment.filename).name).write_bytes(attachment.data)
            where = f" saved in {save}"
        typer.echo(f"[attachment] {attachment.filename} ({attachment.media_type}, {len(attachment.data)} bytes){where}")
    if not keep_unread:
        client.mark_read(mailbox, message_id)
