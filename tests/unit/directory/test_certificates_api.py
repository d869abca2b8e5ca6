"""Certificates: checked on upload (validity, key usage, key size), owners only, published and revoked once."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from services.directory.domain.commands import PublishCertificate
from services.directory.domain.errors import (
    CertificateConflict,
    MailboxTaken,
    NotOwner,
    UnknownResource,
    UnusableCertificate,
)
from services.directory.domain.mailboxes import CertificateNamesUnfit, MailboxReserved
from services.directory.domain.views import CertificateView
from services.directory.handlers.certificates import certificates_of, publish_certificate, revoke_certificate
from services.shared.auth import Principal
from services.shared.bus.schemas import validate_event_body
from services.shared.errors import Invalid
from tests.support.pki import Identity, make_ca, make_identity, usage_flags
from tests.unit.directory.directory_world import (
    ADMIN,
    CAB_BOX,
    HELENE,
    JEANNE,
    JEANNE_BOX,
    LUC,
    MAILBOX_POLICY,
    PAUL,
    PAUL_BOX,
    World,
    professional,
)

CA = make_ca("Directory Test CA")


def pem(identity: Identity) -> str:
    return identity.cert_pem.decode()


def publish(world: World, certificate: str, actor: Principal | None = None,
            **target: str) -> tuple[CertificateView, bool]:
    command = PublishCertificate(certificate, **target)
    return publish_certificate(command, uow=world.uow(), actor=actor or professional(JEANNE), clock=world.clock,
                               policy=MAILBOX_POLICY)


def test_an_owner_publishes_for_a_mailbox_and_the_event_names_owners_not_the_pem(world: World) -> None:
    cabinet = pem(make_identity(CA, "Cabinet Voltaire", email=CAB_BOX))
    view, created = publish(world, cabinet, mailbox=CAB_BOX.upper())
    assert created and view.mailbox == CAB_BOX and view.professional_idnps is None
    [event] = world.events("certificate.published")
    validate_event_body("certificate.published", event)
    assert event["data"]["owners"] == sorted(["8" + JEANNE.rpps, "8" + PAUL.rpps])
    assert "BEGIN CERTIFICATE" not in str(event)
    again, created = publish(world, cabinet, actor=professional(PAUL), mailbox=CAB_BOX)
    assert (again.fingerprint, created) == (view.fingerprint, False) and len(world.events("certificate.published")) == 1
    assert [c.fingerprint for c in certificates_of(read=world.read, mailbox=CAB_BOX)] == [view.fingerprint]


def test_a_professional_publishes_for_his_own_record_by_default(world: World) -> None:
    # a professional's own certificate may name no address (IGC-Santé personal certificates name the RPPS)
    view, _ = publish(world, pem(make_identity(CA, "Luc Zylberstein", kind="ec", email="")), actor=professional(LUC))
    assert view.professional_idnps == "8" + LUC.rpps and view.mailbox is None and "key_agreement" in view.key_usage
    assert [c.fingerprint for c in certificates_of(read=world.read, rpps=LUC.rpps)] == [view.fingerprint]


def test_only_owners_or_administrators(world: World) -> None:
    certificate = pem(make_identity(CA, "Jeanne Martin", email=JEANNE_BOX))
    with pytest.raises(NotOwner) as caught:
        publish(world, certificate, actor=professional(HELENE), mailbox=JEANNE_BOX)
    assert caught.value.status == 403
    with pytest.raises(NotOwner):
        publish(world, certificate, actor=professional(HELENE), rpps=JEANNE.rpps)
    assert publish(world, certificate, actor=ADMIN, mailbox=JEANNE_BOX)[1]
    with pytest.raises(UnknownResource):
        publish(world, pem(make_identity(CA, "Nobody")), actor=ADMIN, mailbox="personne@nulle-part.mssante.fr")


def expired() -> Identity:
    past = datetime.now(UTC) - timedelta(days=400)
    return make_identity(CA, "Old Jeanne", not_before=past, not_after=past + timedelta(days=30))


@pytest.mark.parametrize("make, words", [
    (expired, "expired"),
    (lambda: make_identity(CA, "Weak Jeanne", key_size=1024), "1024 bits"),
    (lambda: make_identity(CA, "Signing Jeanne", key_usage=usage_flags(digital_signature=True)), "key encipherment"),
    (lambda: make_identity(CA, "EC Jeanne", kind="ec", curve="secp521r1"), "curve"),
    (lambda: CA, "certification authority"),
])
def test_an_unusable_certificate_is_422_with_a_plain_sentence(world: World, make, words: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnusableCertificate, match=words) as caught:
        publish(world, pem(make()), mailbox=JEANNE_BOX)
    assert caught.value.status == 422 and caught.value.message.endswith(".")
    assert world.events("certificate.published") == []


@pytest.mark.parametrize("text, words", [
    ("not a certificate", "exactly one certificate"),
    ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "readable"),
    (pem(make_identity(CA, "Jeanne A")) + pem(make_identity(CA, "Jeanne B")), "exactly one"),
])
def test_unreadable_pem_is_400(world: World, text: str, words: str) -> None:
    with pytest.raises(Invalid, match=words) as caught:
        publish(world, text, mailbox=JEANNE_BOX)
    assert caught.value.status == 400 and caught.value.expression == "pem"


def test_a_private_key_is_refused_outright(world: World) -> None:
    identity = make_identity(CA, "Careless Jeanne")
    with pytest.raises(Invalid, match="never its private key"):
        publish(world, pem(identity) + identity.key_pem.decode(), mailbox=JEANNE_BOX)


def test_revocation_by_an_owner_once_then_a_new_upload_of_it_conflicts(world: World) -> None:
    paul = pem(make_identity(CA, "Paul Durand", email=CAB_BOX))
    view, _ = publish(world, paul, actor=professional(PAUL), mailbox=CAB_BOX)
    with pytest.raises(NotOwner):
        revoke_certificate(view.fingerprint, uow=world.uow(), actor=professional(HELENE), clock=world.clock)
    revoked = revoke_certificate(view.fingerprint.upper(), uow=world.uow(), actor=professional(JEANNE),
                                 clock=world.clock)
    assert revoked.revoked and revoked.revoked_at == world.now and revoked.status_at(world.now) == "revoked"
    again = revoke_certificate(view.fingerprint, uow=world.uow(), actor=ADMIN, clock=world.clock)
    assert again.revoked and len(world.events("certificate.revoked")) == 1
    validate_event_body("certificate.revoked", world.events("certificate.revoked")[0])
    with pytest.raises(CertificateConflict):
        publish(world, paul, actor=professional(PAUL), mailbox=CAB_BOX)
    with pytest.raises(UnknownResource):
        revoke_certificate("00" * 32, uow=world.uow(), actor=ADMIN, clock=world.clock)


def test_pem_is_stored_normalised(world: World) -> None:
    identity = make_identity(CA, "Jeanne Martin", email=JEANNE_BOX)
    view, _ = publish(world, "\n\n" + pem(identity) + "\n", mailbox=JEANNE_BOX)
    assert view.pem == identity.cert.public_bytes(serialization.Encoding.PEM).decode()


PLATFORM = "ne-pas-repondre@maillage.mssante.fr"


@pytest.mark.parametrize("target", [PLATFORM, "Ne.Pas.Repondre@Maillage.MSSante.fr", "postmaster@medecin.mssante.fr"])
def test_no_certificate_for_a_reserved_address_not_even_by_an_administrator(world: World, target: str) -> None:
    for actor in (ADMIN, professional(JEANNE)):
        with pytest.raises(MailboxReserved) as caught:
            publish(world, pem(make_identity(CA, "Fake platform", email=PLATFORM)), actor=actor, mailbox=target)
        assert caught.value.status == 403 and caught.value.expression == "mailbox"
    assert world.events("certificate.published") == []


def test_a_certificate_naming_the_platform_address_is_403_for_any_owner(world: World) -> None:
    fake = pem(make_identity(CA, "Jeanne as the platform", email=PLATFORM))
    for target in ({"mailbox": JEANNE_BOX}, {}):  # her mailbox, or her own record
        with pytest.raises(MailboxReserved) as caught:
            publish(world, fake, **target)
        assert caught.value.status == 403 and caught.value.expression == "pem"
    assert world.events("certificate.published") == []


def test_a_certificate_naming_someone_elses_mailbox_is_409(world: World) -> None:
    as_paul = pem(make_identity(CA, "Jeanne as Paul", email=PAUL_BOX))
    for target in ({"mailbox": JEANNE_BOX}, {}):
        with pytest.raises(MailboxTaken) as caught:
            publish(world, as_paul, **target)
        assert caught.value.status == 409 and caught.value.expression == "pem"
    # the box she shares, and her own box
    own = pem(make_identity(CA, "Jeanne for the cabinet", email=CAB_BOX, more_emails=[JEANNE_BOX]))
    assert publish(world, own, mailbox=CAB_BOX)[1]


@pytest.mark.parametrize("hostile", [
    {"more_emails": ['"ne-pas-repondre"@maillage.mssante.fr']},
    {"more_emails": ["ne-pas-repondre@maillage.mssante.fr."]},
    {"more_emails": ["ne-pas-repondre@maillage.mssante.fr\x00.evil.com"]},
    {"more_emails": ["<ne-pas-repondre@maillage.mssante.fr>"]}, {"more_emails": ["mailto:" + PAUL_BOX]},
    {"more_emails": [f'"{PAUL_BOX.partition("@")[0]}"@{PAUL_BOX.partition("@")[2]}']},
    {"more_emails": [PAUL_BOX + "."]}, {"more_emails": [PAUL_BOX.replace("a", "\u0430", 1)]},  # Cyrillic a
    {"subject_email": PAUL_BOX.replace("a", "\u0430", 1)}, {"subject_email": "<" + PAUL_BOX + ">"},
    {"common_name": PAUL_BOX + "."}, {"common_name": "Paul Durand <" + PAUL_BOX + ">"},
])
def test_a_certificate_name_that_does_not_normalise_is_422_never_skipped(world: World, hostile: dict) -> None:  # type: ignore[type-arg]
    hostile = dict(hostile)
    name = hostile.pop("common_name", "Jeanne Martin hostile")
    certificate = pem(make_identity(CA, name, email=JEANNE_BOX, **hostile))
    for target in ({"mailbox": JEANNE_BOX}, {}):
        with pytest.raises(CertificateNamesUnfit) as caught:
            publish(world, certificate, **target)
        assert caught.value.status == 422 and caught.value.expression == "pem"
        assert "@" not in caught.value.message and caught.value.message.count(".") == 1
    assert world.events("certificate.published") == []


@pytest.mark.parametrize("name, error", [
    ("ne-pas-repondre@maillage.mssante.fr", MailboxReserved),  # a common name that is an address is checked
    (PAUL_BOX, MailboxTaken), ("future.victim@maillage.mssante.fr", MailboxTaken),
])
def test_a_common_name_that_is_an_address_is_one_of_the_certificates_names(world: World, name: str,
                                                                          error: type[Exception]) -> None:
    with pytest.raises(error):
        publish(world, pem(make_identity(CA, name, email=JEANNE_BOX)), mailbox=JEANNE_BOX)


@pytest.mark.parametrize("other", ["future.victim@maillage.mssante.fr", "paul@ailleurs.fr"])
def test_a_certificate_naming_an_address_nobody_holds_is_409_and_stays_out(world: World, other: str) -> None:
    """Else it would bind the address to her key before an administrator enrols it for someone else."""
    certificate = pem(make_identity(CA, "Jeanne and a future box", email=JEANNE_BOX, more_emails=[other]))
    for actor in (professional(JEANNE), ADMIN):
        with pytest.raises(MailboxTaken) as caught:
            publish(world, certificate, actor=actor, mailbox=JEANNE_BOX)
        assert caught.value.status == 409 and caught.value.expression == "pem" and other not in caught.value.message
    assert world.events("certificate.published") == []


def test_a_certificate_for_a_mailbox_must_name_it(world: World) -> None:
    unnamed, own = make_identity(CA, "Jeanne unnamed", email=""), make_identity(CA, "Jeanne box", email=JEANNE_BOX)
    for certificate in (unnamed, own):
        with pytest.raises(CertificateNamesUnfit) as caught:
            publish(world, pem(certificate), mailbox=CAB_BOX)  # her cabinet's box, which the certificate does not name
        assert caught.value.status == 422 and caught.value.expression == "pem" and "must name" in caught.value.message
    assert publish(world, pem(own), mailbox=JEANNE_BOX)[1]
