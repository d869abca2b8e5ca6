"""Domain errors of the secure-message crypto; messages never quote message content."""

from __future__ import annotations

from services.shared.errors import Invalid, Unprocessable


class MalformedMessage(Invalid):
    """The bytes are not a CMS / S/MIME structure this library can read."""


class BadSignature(Unprocessable):
    """The signature does not verify: the content or the signature was altered."""

    code = "security"


class UntrustedSigner(Unprocessable):
    """The signature is intact but the signer's certificate is not trusted."""

    code = "security"


class NotForRecipient(Unprocessable):
    """The encrypted message holds no key for the given certificate."""

    code = "security"


class Undecryptable(Unprocessable):
    """A key for this recipient exists but does not unlock the content."""

    code = "security"
