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
from services.directory.domain.mailboxes import MailboxReserved
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
    cabinet = pem(make_identity(CA, "Cabinet Voltaire"))
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
    view, _ = publish(world, pem(make_identity(CA, "Luc Zylberstein", kind="ec")), actor=professional(LUC))
    assert view.professional_idnps == "8" + LUC.rpps and view.mailbox is None and "key_agreement" in view.key_usage
    assert [c.fingerprint for c in certificates_of(read=world.read, rpps=LUC.rpps)] == [view.fingerprint]


def test_only_owners_or_administrators(world: World) -> None:
    certificate = pem(make_identity(CA, "Jeanne Martin"))
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
    paul = pem(make_identity(CA, "Paul Durand"))
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
    identity = make_identity(CA, "Jeanne Martin")
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
    own = pem(make_identity(CA, "Jeanne for the cabinet", email=JEANNE_BOX))  # her own box, for a box she shares
    assert publish(world, own, mailbox=CAB_BOX)[1]
