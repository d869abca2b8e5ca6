"""The logging set-up writes structured lines that never contain health data."""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator

import pytest
import structlog

from services.shared.logging import (
    ACCESS_LOGGER,
    bind_context,
    clear_context,
    configure_logging,
    escape_text,
    get_logger,
    is_sensitive_key,
    redact_health_data,
    scrub_text,
)
from services.shared.settings import Settings

INS = "279035121518989"
RPPS = "10003498127"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
EVENT_ID = str(uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e"))
FHIR_PATIENT = json.dumps({
    "resourceType": "Patient",
    "identifier": [{"system": "urn:oid:1.2.250.1.213.1.4.8", "value": INS}],
    "name": [{"family": "Dupont", "given": ["Jeanne"]}],
    "birthDate": "1979-03-05",
})
HL7_ADT = (
    "MSH|^~\\&|HIS|CHU|MAILLAGE|CPTS|20240501101500||ADT^A01|42|P|2.5\r"
    f"PID|1||{INS}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS||DUPONT^JEANNE||19790305|F\r"
)
LEAKS = (INS, "2790351215189", "Dupont", "DUPONT", "Jeanne", "1979-03-05", "19790305",
         "05/03/1979", "MSH|", "PID|", "resourceType")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    clear_context()
    for logger in (logging.getLogger(), logging.getLogger(ACCESS_LOGGER)):
        for handler in [h for h in logger.handlers if getattr(h, "_maillage", False)]:
            logger.removeHandler(handler)
    logging.captureWarnings(False)
    structlog.reset_defaults()


def _log_everything() -> int:
    """Log every kind of health data we know of; return the number of events logged."""
    log = get_logger("maillage.test")
    with bind_context(trace_id=TRACE_ID, event_id=EVENT_ID):
        log.info("patient admitted", ins=INS, patient_name="Jeanne Dupont", family="Dupont",
                 rpps=RPPS, document_id=EVENT_ID, path="/mailboxes/10003498127/messages")
        log.info("received resource", raw=FHIR_PATIENT)
        log.info(FHIR_PATIENT)
        log.info("hl7 in", frame=HL7_ADT)
        log.info("dates", born="1979-03-05", born_compact="19790305", born_fr="05/03/1979")
        log.info("nested", detail={"patient": {"given": ["Jeanne"], "birthDate": "1979-03-05"},
                                   "items": [INS, {"nom": "Dupont"}]})
        try:
            raise LookupError(f"no patient with INS {INS} born 1979-03-05")
        except LookupError:
            log.exception("lookup failed")
        logging.getLogger("kombu").warning("redelivering message for %s", INS)
    return 8


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_no_health_data_leaks(capsys: pytest.CaptureFixture[str], log_format: str) -> None:
    configure_logging("messaging", Settings(log_format=log_format))
    _log_everything()
    out = capsys.readouterr().out
    assert "lookup failed" in out and "redelivering message for [INS]" in out
    for leak in LEAKS:
        assert leak not in out, f"{leak!r} leaked"


def test_json_lines_carry_identity_and_keep_identifiers(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("messaging", Settings(log_format="json"))
    count = _log_everything()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == count
    for line in lines:
        assert (line["service"], line["trace_id"], line["event_id"]) == ("messaging", TRACE_ID, EVENT_ID)
        assert line["timestamp"].startswith("20") and "T" in line["timestamp"]
    first = lines[0]
    assert first["ins"] == "[redacted]" and first["patient_name"] == "[redacted]"
    assert (first["rpps"], first["document_id"]) == (RPPS, EVENT_ID)
    assert first["path"] == "/mailboxes/10003498127/messages"
    assert lines[1]["raw"] == "[fhir redacted]" and lines[2]["event"] == "[fhir redacted]"
    assert lines[3]["frame"] == "[hl7 redacted]"
    assert lines[4]["born"] == lines[4]["born_compact"] == lines[4]["born_fr"] == "[date]"
    assert "LookupError: no patient with INS [INS] born [date]" in lines[6]["exception"]
    assert (lines[7]["logger"], lines[7]["level"]) == ("kombu", "warning")


def test_console_lines_carry_identity(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("messaging", Settings(log_format="console"))
    count = _log_everything()
    out = capsys.readouterr().out
    assert out.count("service=messaging") == count
    assert out.count(f"trace_id={TRACE_ID}") == count
    assert out.count(f"event_id={EVENT_ID}") == count
    assert RPPS in out


def test_configure_twice_writes_each_line_once(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("directory", Settings(log_format="json"))
    configure_logging("directory", Settings(log_format="json"))
    get_logger().info("once")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["trace_id"] is None  # present even when nothing is bound


def test_level_filters_debug(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("directory", Settings(log_format="json", log_level="WARNING"))
    get_logger().info("hidden")
    get_logger().warning("shown")
    assert [json.loads(line)["event"] for line in capsys.readouterr().out.splitlines()] == ["shown"]


def test_context_is_reset_after_the_block(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("directory", Settings(log_format="json"))
    token = bind_context(trace_id="outer")
    with bind_context(trace_id="inner"):
        get_logger().info("in")
    get_logger().info("out")
    token.reset()
    get_logger().info("none")
    ids = [json.loads(line)["trace_id"] for line in capsys.readouterr().out.splitlines()]
    assert ids == ["inner", "outer", None]


@pytest.mark.parametrize("text", [
    TRACE_ID, EVENT_ID, RPPS, "750712184", "2024-05-01T10:15:00.123456Z",
    "2024-05-01 10:15:00,123", "/api/v1/mailboxes/10003498127", "took 1234 ms",
])
def test_identifiers_that_are_not_health_data_survive(text: str) -> None:
    assert scrub_text(text) == text


@pytest.mark.parametrize(("text", "expected"), [
    ("INS 279035121518989", "INS [INS]"),
    ("nir=2790351215189", "nir=[INS]"),
    ("corsica 185022A12345678", "corsica [INS]"),
    ("GET /fhir/Patient?identifier=x|279035121518989", "GET /fhir/Patient?[query]"),
    ("/patients/279035121518989?x=1", "/patients/[INS]?[query]"),
    ("born 1979-03-05.", "born [date]."),
])
def test_values_are_scrubbed(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize("key", ["name", "patient_name", "Family", "given", "birthDate",
                                 "date_of_birth", "ins_nir", "hl7_message", "telecom", "nom_usage",
                                 "patientAddress", "fhir", "message_body", "subject", "prenom"])
def test_sensitive_keys(key: str) -> None:
    assert is_sensitive_key(key)


@pytest.mark.parametrize("key", ["event", "timestamp", "trace_id", "event_id", "rpps", "finess",
                                 "queue_name", "resource_type", "document_id", "status"])
def test_technical_keys(key: str) -> None:
    assert not is_sensitive_key(key)


def test_processor_handles_odd_values() -> None:
    event = redact_health_data(None, "info", {
        "event": "x", "ins_value": 279035121518989, "count": 279035121518989,
        "raw": b"MSH|...", "resource": {"resourceType": "Patient"}, "attempt": 3,
    })
    assert event == {"event": "x", "ins_value": "[redacted]", "count": "[INS]",
                     "raw": "[7 bytes]", "resource": "[redacted]", "attempt": 3}


FORGED = "\n2001-01-01T00:00:00.000000Z [error    ] forged line"
HOSTILE = (FORGED, "\r" + FORGED, "nul\x00byte", "esc\x1b[31mred", "sep\u2028" + FORGED, "rtl\u202eesrever",
           "next\x85line")


def _log_hostile_text() -> int:
    """Client-supplied text in every place a line can carry it; the number of lines logged."""
    log = get_logger("maillage.test")
    for text in HOSTILE:
        log.warning(f"no mailbox {text}")
        log.info("request", request_id=text, detail={"nested": [text]})
        logging.getLogger("nameko.containers").warning("error handling worker %s: %s", "w", text)
        try:
            raise LookupError(f"unknown message id {text}")
        except LookupError:
            log.exception("lookup failed")
    return 4 * len(HOSTILE)


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_client_text_cannot_forge_a_line_or_reach_the_log_raw(capsys: pytest.CaptureFixture[str],
                                                               log_format: str) -> None:
    configure_logging("messaging", Settings(log_format=log_format))
    count = _log_hostile_text()
    out = capsys.readouterr().out
    for raw in ("\x00", "\x1b", "\r", "\u2028", "\u202e", "\x85"):
        assert raw not in out, f"{raw!r} reached the log"
    lines = out.splitlines()
    assert not [line for line in lines if line.startswith("2001-01-01")]  # no forged line of its own
    assert out.count("forged line") == 5 * 3  # in all five places, escaped, escaped, for the investigator
    if log_format == "json":
        assert len(lines) == count and all(json.loads(line) for line in lines)
    else:
        starts = [line for line in lines if line[:4].isdigit()]
        assert len(starts) == count  # one line per event; only traceback lines come in between
        assert "\\n2001-01-01T00:00:00.000000Z [error    ] forged line" in out


def test_long_values_are_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("messaging", Settings(log_format="json"))
    get_logger().warning("x" * 100_000, request_id="y" * 100_000)
    try:
        raise ValueError("z" * 100_000)
    except ValueError:
        get_logger().exception("failed")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines[0]["event"]) < 2100 and lines[0]["event"].endswith("[98000 more characters]")
    assert len(lines[0]["request_id"]) < 2100
    assert len(lines[1]["exception"]) < 2500 and "ValueError: zzz" in lines[1]["exception"]


def test_escaping_keeps_ordinary_text() -> None:
    for text in ("GET /fhir/Practitioner 200", "Cécile Ñandú ✓ 日本", "C:\\path", "tab-free"):
        assert escape_text(text) == text
    assert escape_text("a\nb\tc\x00d\u2028e") == "a\\nb\\tc\\x00d\\u2028e"
    assert escape_text("abcdef", limit=3) == "abc…[3 more characters]"


def test_standard_library_extras_become_fields_and_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("directory", Settings(log_format="json"))
    logging.getLogger("maillage.other").info("http request", extra={
        "method": "GET", "route": "/fhir/Practitioner", "status": 200, "request_id": "a\nb", "family": "Dupont"})
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert (line["method"], line["route"], line["status"]) == ("GET", "/fhir/Practitioner", 200)
    assert (line["request_id"], line["family"]) == ("a\\nb", "[redacted]")


ACCESS = {"method": "GET", "route": "/fhir/Practitioner", "status": 200, "duration_ms": 1.5,
          "request_id": "abc", "error": None}


def test_the_access_line_is_one_json_line_shaped_like_the_others(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("directory", Settings(log_format="json"))
    configure_logging("directory", Settings(log_format="json"))  # twice: still one handler
    logging.getLogger(ACCESS_LOGGER).info("http request", extra={**ACCESS, "route": "/x\n[error] forged"})
    get_logger("other").info("next")
    access, other = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert set(access) == set(other) | set(ACCESS)
    assert (access["event"], access["level"], access["logger"], access["service"]) == (
        "http request", "info", ACCESS_LOGGER, "directory")
    assert access["route"] == "/x\\n[error] forged" and access["status"] == 200
    assert access["timestamp"][:4] == other["timestamp"][:4] and access["timestamp"].endswith("Z")


def test_the_access_line_in_the_console_and_silenced_by_its_level(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("messaging", Settings(log_format="console"))
    access = logging.getLogger(ACCESS_LOGGER)
    access.info("http request", extra=ACCESS)
    (line,) = capsys.readouterr().out.splitlines()
    assert "http request" in line and "route=/fhir/Practitioner" in line and "status=200" in line
    assert "service=messaging" in line and "request_id=abc" in line
    access.setLevel(logging.WARNING)
    try:
        access.info("http request", extra=ACCESS)
        assert capsys.readouterr().out == ""
    finally:
        access.setLevel(logging.NOTSET)
