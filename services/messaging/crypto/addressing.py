"""Who an EnvelopedData is addressed to, read without decrypting (routing end-to-end messages)."""

from __future__ import annotations

from asn1crypto import cms
from cryptography import x509

from services.shared.pki import identifiers
from services.shared.pki.errors import MalformedMessage
from services.shared.pki.smime import unwrap


def enveloped_der(data: bytes) -> bytes:
    """The DER of an S/MIME, PEM or DER EnvelopedData; MalformedMessage if it is anything else."""
    der = unwrap(data).der
    try:
        info = cms.ContentInfo.load(der)
        if info["content_type"].native != "enveloped_data":
            raise MalformedMessage("The message is not CMS EnvelopedData (an encrypted S/MIME message).")
        _ = info["content"]["recipient_infos"].native  # parse eagerly so broken DER fails here
    except (ValueError, TypeError, KeyError):
        raise MalformedMessage("The encrypted message is not a valid CMS EnvelopedData structure.") from None
    return der


def recipient_ids(der: bytes) -> list[object]:
    """The recipient identifiers (issuer and serial, or key identifier) of every RecipientInfo."""
    envelope = cms.ContentInfo.load(der)["content"]
    ids: list[object] = []
    for info in envelope["recipient_infos"]:
        if info.name == "ktri":
            ids.append(info.chosen["rid"].chosen)
        elif info.name == "kari":
            ids.extend(rek["rid"].chosen for rek in info.chosen["recipient_encrypted_keys"])
    return ids


def addressed_to(ids: list[object], cert: x509.Certificate) -> bool:
    return any(identifiers.matches(cert, rid) for rid in ids)
