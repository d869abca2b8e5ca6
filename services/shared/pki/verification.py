"""Verify CMS SignedData from any S/MIME agent: digests, signatures and, if asked, the trust chain."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from . import identifiers
from .chain import check_signer_trusted
from .errors import BadSignature, MalformedMessage
from .revocation import Revocations
from .smime import unwrap

HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_BARE_LF = re.compile(rb"(?<!\r)\n")
_ALTERED = "The signature does not verify: the message was altered or signed with another key."


@dataclass(frozen=True)
class VerifiedContent:
    """Content whose signature verified, and the certificate of who signed it."""

    content: bytes
    signer_cert: x509.Certificate


def verify(
    signed: bytes,
    trusted: list[x509.Certificate] | None = None,
    *,
    at: datetime | None = None,
    revocations: Revocations | None = None,
) -> VerifiedContent:
    """Check every signature of an S/MIME, PEM or DER SignedData and return what was signed.

    With ``trusted`` None only integrity is checked: the caller must then judge
    ``signer_cert`` itself (against the directory, say). Otherwise the signer
    must chain to one of ``trusted`` at ``at`` (default: now), unrevoked (``revocations``,
    default: the process's CRLs).
    """
    unwrapped = unwrap(signed)
    signed_data = _load_signed_data(unwrapped.der)
    encap = signed_data["encap_content_info"]
    content_type = encap["content_type"].dotted
    if encap["content"].native is not None:
        candidates = [bytes(encap["content"].native)]
    elif unwrapped.detached_content is not None:
        # S/MIME agents sign the canonical (CRLF) form; transport may have turned it into LF.
        candidates = [unwrapped.detached_content]
        canonical = _BARE_LF.sub(b"\r\n", unwrapped.detached_content)
        if canonical != unwrapped.detached_content:
            candidates.append(canonical)
    else:
        raise MalformedMessage("The signature is detached but no signed content came with it.")
    try:
        certs = [
            identifiers.from_asn1(c.chosen)
            for c in signed_data["certificates"]
            if c.name == "certificate"
        ]
    except ValueError:
        raise MalformedMessage("A certificate inside the signed message is unreadable.") from None
    if not len(signed_data["signer_infos"]):
        raise MalformedMessage("The signed message has no signature.")
    failure = BadSignature(_ALTERED)
    for content in candidates:
        try:
            signers = [
                _verify_signer(info, content, content_type, certs + list(trusted or []))
                for info in signed_data["signer_infos"]
            ]
        except BadSignature as error:
            failure = error
            continue
        if trusted is not None:
            moment = at or datetime.now(UTC)
            for signer in signers:
                check_signer_trusted(signer, certs, trusted, moment, revocations=revocations)
        return VerifiedContent(content, signers[0])
    raise failure


def _load_signed_data(der: bytes) -> cms.SignedData:
    try:
        info = cms.ContentInfo.load(der)
        if info["content_type"].native != "signed_data":
            raise MalformedMessage("The CMS structure is not SignedData.")
        signed_data = info["content"]
        _ = signed_data.native  # parse eagerly so broken DER fails here, not halfway through
    except (ValueError, TypeError, KeyError):
        raise MalformedMessage(
            "The signed message is not a valid CMS SignedData structure."
        ) from None
    return signed_data


def _verify_signer(
    info: cms.SignerInfo, content: bytes, content_type: str, certs: list[x509.Certificate]
) -> x509.Certificate:
    cert = identifiers.find(certs, info["sid"].chosen)
    if cert is None:
        raise MalformedMessage("The signed message does not include the signer's certificate.")
    hash_class = HASHES.get(info["digest_algorithm"]["algorithm"].native)
    if hash_class is None:
        raise BadSignature(
            "The signature uses a digest algorithm that is not accepted (SHA-256/384/512 only)."
        )
    attrs = info["signed_attrs"]
    if attrs.native is not None:
        values = {attr["type"].native: attr["values"] for attr in attrs}
        types, digests = values.get("content_type"), values.get("message_digest")
        if types is None or digests is None or len(types) != 1 or len(digests) != 1:
            raise BadSignature("The signature lacks its content-type or message-digest attribute.")
        if types[0].dotted != content_type:
            raise BadSignature("The signed content type differs from the content's type.")
        digest = hashes.Hash(hash_class())
        digest.update(content)
        if not hmac.compare_digest(digest.finalize(), digests[0].native):
            raise BadSignature(
                "The content does not match its signature: it was altered after signing."
            )
        # The signature covers the attributes encoded as a SET OF, not as the [0] they
        # travel in: swap the tag byte and keep the received bytes otherwise.
        data = b"\x31" + attrs.dump()[1:]
    elif content_type != "1.2.840.113549.1.7.1":
        raise BadSignature("A signature without signed attributes must cover plain data.")
    else:
        data = content
    _check_signature(cert, info, data, hash_class())
    return cert


def _check_signature(
    cert: x509.Certificate, info: cms.SignerInfo, data: bytes, hash_algorithm: hashes.HashAlgorithm
) -> None:
    algorithm = info["signature_algorithm"]
    signature = info["signature"].native
    key = cert.public_key()
    try:
        scheme = algorithm.signature_algo
        if isinstance(key, rsa.RSAPublicKey) and scheme == "rsassa_pkcs1v15":
            key.verify(signature, data, padding.PKCS1v15(), hash_algorithm)
        elif isinstance(key, rsa.RSAPublicKey) and scheme == "rsassa_pss":
            params = algorithm["parameters"]
            mgf_hash = HASHES[params["mask_gen_algorithm"]["parameters"]["algorithm"].native]
            pss = padding.PSS(padding.MGF1(mgf_hash()), params["salt_length"].native)
            key.verify(signature, data, pss, HASHES[params["hash_algorithm"]["algorithm"].native]())
        elif isinstance(key, ec.EllipticCurvePublicKey) and scheme == "ecdsa":
            key.verify(signature, data, ec.ECDSA(hash_algorithm))
        else:
            raise BadSignature(
                "The signature algorithm does not fit the signer's key or is not accepted."
            )
    except (InvalidSignature, KeyError, ValueError):
        raise BadSignature(_ALTERED) from None
