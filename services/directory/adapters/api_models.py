"""Request bodies of the directory's JSON API (their JSON Schemas feed the OpenAPI document)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from services.directory.domain.commands import CreateCpts, PublishCertificate
from services.directory.domain.enrolment import Enrol
from services.shared.web.capabilities import (
    FINESS,
    IDNPS_OR_RPPS,
    INSEE_COMMUNE,
    MAIL_ADDRESS,
    NOT_BLANK,
    POSTAL_CODE,
    RPPS,
)

_NAME = Field(min_length=1, max_length=100, json_schema_extra={"pattern": NOT_BLANK})
_PEM = Field(default=None, max_length=20_000, description=(
    "One X.509 certificate in PEM, to encrypt for you: it must name the mailbox, and every address it names must "
    "be a plain mailbox address of yours."))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EnrolmentRequest(_Strict):
    """The regional enrolment form; the account kit then comes by secure message to ``mailbox``."""

    civility: str = Field(max_length=10, description="M or MME.", json_schema_extra={"enum": ["M", "MME"]})
    family: str = _NAME
    given: str = _NAME
    mailbox: str = Field(max_length=254, json_schema_extra=dict(MAIL_ADDRESS), description=(
        "Your MSSanté mailbox: an address the MSSanté directory lists for your RPPS number (you alone), or a new "
        "address under a domain the platform operates that is your given and family names as the national "
        "directory spells them (prenom.nom, no accents, hyphens for spaces and apostrophes), optionally followed by a "
        "one- or two-digit number. Reserved addresses (postmaster, no-reply, the platform's sender and their "
        "variants...) and anyone else's are refused."))
    phone1: str = Field(max_length=20)
    phone2: str | None = Field(default=None, max_length=20)
    rpps: str = Field(max_length=11, description="Your RPPS number (11 digits).", json_schema_extra=dict(RPPS))
    address: str = Field(min_length=1, max_length=200, json_schema_extra={"pattern": NOT_BLANK})
    postal_code: str = Field(max_length=5, json_schema_extra=dict(POSTAL_CODE))
    city: str = _NAME
    specialty: str | None = Field(default=None, max_length=100)
    certificate_pem: str | None = _PEM

    def command(self) -> Enrol:
        return Enrol(**self.model_dump())


ENROLMENT_RESPONSE = {
    "type": "object", "required": ["id", "rpps", "mailbox", "account_kit_status", "account_kit"],
    "properties": {
        "id": {"type": "string"}, "rpps": {"type": "string", "pattern": "^[0-9]{11}$"},
        "idnps": {"type": "string"}, "mailbox": {"type": "string"}, "mailbox_type": {"const": "PER"},
        "certificate_fingerprint": {"type": ["string", "null"]},
        "account_kit_status": {"enum": ["sending", "held"], "description": (
            "sending: the account kit is on its way by secure message; held: it leaves when a certificate is "
            "published for the mailbox.")},
        "account_kit": {"type": "string", "description": "The same, in one sentence."},
    },
}


class CertificateRequest(_Strict):
    """For ``mailbox``, else for the professional ``rpps`` (administrators), else for your own record."""

    pem: str = Field(max_length=20_000, description=(
        "One PEM certificate. Every address it names (subject alternative names, e-mail address, a common name "
        "that is an address) must be a plain mailbox address, the mailbox it is published for or one its owners "
        "hold; a certificate for a mailbox must name it."))
    mailbox: str | None = Field(default=None, max_length=254, json_schema_extra={"anyOf": [dict(MAIL_ADDRESS),
                                                                                           {"type": "null"}]})
    rpps: str | None = Field(default=None, max_length=11, json_schema_extra={"anyOf": [dict(RPPS), {"type": "null"}]})

    def command(self) -> PublishCertificate:
        return PublishCertificate(self.pem, self.mailbox, self.rpps)


class ObjectionRequest(_Strict):
    objects_to_exchange: StrictBool
    refuses_dmp: StrictBool


class CptsRequest(_Strict):
    model_config = ConfigDict(json_schema_extra={"anyOf": [  # a territory: communes, postal codes or both
        {"required": ["communes"], "properties": {"communes": {"minItems": 1}}},
        {"required": ["postal_codes"], "properties": {"postal_codes": {"minItems": 1}}}]})

    finess: str = Field(max_length=9, json_schema_extra=dict(FINESS))
    name: str = Field(min_length=1, max_length=200, json_schema_extra={"pattern": NOT_BLANK})
    communes: list[str] = Field(default_factory=list, max_length=500, description="INSEE commune codes.",
                                json_schema_extra={"items": dict(INSEE_COMMUNE)})
    postal_codes: list[str] = Field(default_factory=list, max_length=500,
                                    json_schema_extra={"items": dict(POSTAL_CODE)})

    def command(self) -> CreateCpts:
        return CreateCpts(self.finess, self.name, tuple(self.communes), tuple(self.postal_codes))


class MemberRequest(_Strict):
    rpps: str = Field(max_length=12, description="RPPS (11 digits) or IDNPS.", json_schema_extra=dict(IDNPS_OR_RPPS))
