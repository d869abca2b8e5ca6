"""Tell whether an attachment carries a CDA document, alone or inside an IHE XDM zip."""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree

CDA_ROOT = "{urn:hl7-org:v3}ClinicalDocument"
_XML_TYPES = {"text/xml", "application/xml", "application/hl7-cda+xml", "application/hl7-v3+xml"}
_ZIP_TYPES = {"application/zip", "application/x-zip-compressed", "application/octet-stream"}
_SNIFF_BYTES = 64 * 1024  # the root element is near the start; never inflate a whole entry


def carries_cda(media_type: str, data: bytes) -> bool:
    media_type = media_type.lower()
    if media_type in _XML_TYPES:
        return _is_cda(data[:_SNIFF_BYTES])
    if media_type in _ZIP_TYPES and data[:4] == b"PK\x03\x04":
        return _xdm_has_cda(data)
    return False


def _is_cda(head: bytes) -> bool:
    # Only the first start tag is read: no entity expansion beyond it, no full parse.
    parser: ElementTree.XMLPullParser[ElementTree.Element] = ElementTree.XMLPullParser(events=("start",))
    try:
        parser.feed(head)
        for event in parser.read_events():
            return getattr(event[-1], "tag", None) == CDA_ROOT
    except ElementTree.ParseError:
        return False
    return False


def _xdm_has_cda(data: bytes) -> bool:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        for info in archive.infolist():
            name = info.filename.upper()
            if (
                not name.startswith("IHE_XDM/")
                or not name.endswith(".XML")
                or name.endswith("/METADATA.XML")
            ):
                continue
            with archive.open(info) as entry:
                if _is_cda(entry.read(_SNIFF_BYTES)):
                    return True
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return False
