"""Encoding of an extract: a byte-order mark, else UTF-8 when the start decodes as such, else cp1252."""
from __future__ import annotations

import codecs

SAMPLE_BYTES = 1 << 20
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_FALLBACK = "maillage-cp1252-fallback"


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    # A stray non-UTF-8 byte after the sampled start is read as Windows-1252, as a person would.
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start:error.end]
    return bytes(bad).decode("cp1252", errors="replace"), error.end


codecs.register_error(_FALLBACK, _cp1252_fallback)


def detect_encoding(sample: bytes) -> str:
    """``utf-8-sig``/``utf-16`` from a BOM, ``utf-8`` when the sample decodes, else ``cp1252``."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    try:
        # The sample may end inside a multi-byte character: an incremental decoder allows that.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        # cp1252 is latin-1 plus printable characters in 0x80-0x9F (’, œ, €): a superset in practice.
        return "cp1252"
    return "utf-8"


def decode_errors(encoding: str) -> str:
    """The error handler to decode with: cp1252 for stray bytes in UTF-8, else replacement."""
    return _FALLBACK if encoding.startswith("utf-8") else "replace"
