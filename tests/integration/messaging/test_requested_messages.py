"""A platform service has messaging send a secure message for it, through the real broker (message.requested).

A probe stands in for coordination: a nameko service of that name, with its own database and outbox, publishing
requests with the shared client in its unit of work. Messaging (beside the real directory) delivers them into the
recipients' mailboxes, signed by the operator and encrypted for them, once per key, and answers on the bus.
"""
from __future__ import annotations

import base64
import email
import email.policy
from collections.abc import Iterator
from typing import Any

import amqp
import pytest
import sqlalchemy as sa
from cryptography import x509
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.runners import ServiceRunner
from nameko.standalone.rpc import ClusterRpcProxy

from services.messaging.handlers.requests import request_message_id
from services.shared.bus.amqp import connect
from services.shared.bus.envelope import CONTENT_TYPE, CloudEvent
from services.shared.bus.failures import ERROR_HEADER, ERROR_TYPE_HEADER
from services.shared.bus.topology import EVENTS_EXCHANGE
from services.shared.clients.messaging import DEV_OPERATOR_CERTIFICATE, load_operator_certificate, request_message
from services.shared.contracts.messaging_events import MESSAGE_REQUEST_BOUNCED, MESSAGE_REQUESTED, MESSAGE_SENT
from services.shared.db import bus_tables, make_engine
from services.shared.nameko_ext.config import container_config, settings_of
from services.shared.nameko_ext.database import Database
from services.shared.pki.cms import decrypt, load_certificates, verify
from services.shared.settings import Settings
from tests.integration.messaging.conftest import Platform
from tests.support.databases import new_database, remove_database
from tests.support.messaging_world import BOB, CAROL, RPPS
from tests.support.pki import Identity
from tests.support.platform import Observer, eventually

pytestmark = pytest.mark.integration
UNKNOWN = "inconnu@nulle-part.test"
QUEUE = "messaging.send_requested_message"
probe_metadata = sa.MetaData()
PROBE_BUS = bus_tables(probe_metadata)


class OperatorCertificate(DependencyProvider):
    """The messaging operator's certificate, as a requesting service finds it (here: development messaging's)."""

    def setup(self) -> None:
        self.certificate = load_operator_certificate(settings_of(self.container).var_dir / DEV_OPERATOR_CERTIFICATE)

    def get_dependency(self, worker_ctx: Any) -> x509.Certificate:
        return self.certificate


class CoordinationProbe:
    """Stands in for coordination: a state change of its own would commit with the request, in one unit of work."""

    name = "coordination"
    db = Database(PROBE_BUS)
    operator_certificate = OperatorCertificate()

    @rpc
    def notify(self, key: str, addresses: list[str], professionals: list[str], text: str) -> str:
        with self.db.uow() as uow:
            event = request_message(uow, key=key, subject="Admission de votre patient", text=text,
                                    addresses=addresses, professionals=professionals,
                                    operator_certificate=self.operator_certificate)
            uow.commit()
        return event.id


@pytest.fixture(scope="module")
def coordination(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    backend = "postgresql" if platform.database_url.startswith("postgresql") else "sqlite"
    var_dir = platform.var_dir  # the same MAILLAGE_VAR_DIR: where development messaging keeps its operator
    url = new_database(backend, tmp_path_factory.mktemp("coordination"), "coordination")
    engine = make_engine(url)
    probe_metadata.create_all(engine)
    engine.dispose()
    settings = Settings(environment="test", amqp_uri=platform.amqp_uri, var_dir=var_dir,
                        service_database_urls={"coordination": url}, bus_retry_delays_ms=(100, 200))
    eventually(lambda: (var_dir / DEV_OPERATOR_CERTIFICATE).exists())
    runner = ServiceRunner(container_config(settings))
    runner.add_service(CoordinationProbe)
    runner.start()
    try:
        yield settings
    finally:
        runner.kill()
        remove_database(url)


def handled(platform: Platform, event_id: str) -> bool:
    engine = make_engine(platform.database_url)
    try:
        with engine.connect() as conn:
            processed = sa.Table("processed_events", sa.MetaData(), autoload_with=conn)
            return conn.scalar(sa.select(sa.func.count()).select_from(processed)
                               .where(processed.c.event_id == event_id)) == 1
    finally:
        engine.dispose()


def read_as(platform: Platform, who: str, address: str, message_id: str, identity: Identity
            ) -> email.message.EmailMessage:
    with platform.client(who) as client:
        eventually(lambda: client.get(f"/api/v1/mailboxes/{address}/messages/{message_id}").status_code == 200)
        listed = client.get(f"/api/v1/mailboxes/{address}/messages", params={"limit": 200}).json()["messages"]
        assert [m["id"] for m in listed].count(message_id) == 1
        stored = client.get(f"/api/v1/mailboxes/{address}/messages/{message_id}").json()
    operator_ca = load_certificates((platform.var_dir / DEV_OPERATOR_CERTIFICATE.parent / "ca.pem").read_bytes())
    signed = verify(decrypt(base64.b64decode(stored["ciphertext"]), identity.cert, identity.key), operator_ca)
    return email.message_from_bytes(signed.content, policy=email.policy.default)  # type: ignore[return-value]


def test_a_requested_message_is_delivered_once_and_answered(
        platform: Platform, coordination: Settings, pki: dict[str, Identity]) -> None:
    observer = Observer(platform.amqp_uri, MESSAGE_SENT, MESSAGE_REQUEST_BOUNCED)
    key = "admission-42.notice"
    text = "Bonjour,\nvotre patiente DUPONT Jeanne a été admise ce jour.\n"
    try:
        with ClusterRpcProxy(container_config(coordination)) as cluster:
            cluster.coordination.notify(key, [BOB, UNKNOWN], [RPPS["carol"]], text)
            answers = observer.wait_for(MESSAGE_SENT, MESSAGE_REQUEST_BOUNCED)
            message_id = request_message_id("coordination", key)
            [sent] = [e["data"] for e in answers if e["type"] == MESSAGE_SENT]
            assert sent["message_id"] == message_id and sorted(sent["recipients"]) == sorted([BOB, CAROL])
            [bounced] = [e["data"] for e in answers if e["type"] == MESSAGE_REQUEST_BOUNCED]
            assert bounced["request_key"] == key and bounced["requested_by"] == "coordination"
            assert bounced["bounces"] == [{"recipient": UNKNOWN, "code": "UNKNOWN_RECIPIENT"}]

            for who, address in (("bob", BOB), ("carol", CAROL)):
                notice = read_as(platform, who, address, message_id, pki[who])
                assert notice["From"].startswith("ne-pas-repondre@") and "DUPONT Jeanne" in notice.get_body(
                    ).get_content()

            again = cluster.coordination.notify(key, [BOB, UNKNOWN], [RPPS["carol"]], text)  # retransmitted
            eventually(lambda: handled(platform, again))
        observer.drain()
        assert [e["type"] for e in observer.seen].count(MESSAGE_SENT) == 1  # no second answer...
        read_as(platform, "bob", BOB, message_id, pki["bob"])  # ...and still one copy in the mailbox
    finally:
        observer.close()


def test_a_request_from_outside_the_platform_goes_to_the_dead_letters_with_a_reason(
        platform: Platform, coordination: Settings) -> None:
    event = CloudEvent(type=MESSAGE_REQUESTED, source="urn:maillage:service:intrus", subject="MessageRequest/x/y",
                       data={"schema_version": 1, "requested_by": "intrus", "request_key": "y", "addresses": [BOB],
                             "content": "MIAGCSqGSIb3DQEHA6CA"})
    connection = connect(platform.amqp_uri, name="test-intruder")
    try:
        channel = connection.channel()
        channel.confirm_select()
        channel.basic_publish(amqp.Message(event.to_json(), content_type=CONTENT_TYPE, delivery_mode=2),
                              exchange=EVENTS_EXCHANGE, routing_key=MESSAGE_REQUESTED)
        dead = eventually(lambda: channel.basic_get(f"{QUEUE}.dlq", no_ack=True))
    finally:
        connection.close()
    assert CloudEvent.from_json(dead.body).id == event.id
    headers = dead.properties["application_headers"]
    assert headers[ERROR_TYPE_HEADER].endswith("Invalid") and "source names none" in headers[ERROR_HEADER]
