"""Name normalisation for accent- and case-insensitive prefix search."""
from __future__ import annotations

import unicodedata

# Apostrophes, hyphens and dots separate words in French names ("D'ARTAGNAN", "Jean-Luc").
_SEPARATORS = str.maketrans({"'": " ", "’": " ", "-": " ", ".": " ", ",": " ", "\t": " "})
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})


def normalise(name: str) -> str:
    """Lower case, no accents, words separated by one space: ``"Lefèvre-D'Été"`` → ``"lefevre d ete"``.

    Search must normalise its query with this same function and match by prefix.
    """
    lowered = name.lower().translate(_SEPARATORS)
    if not lowered.isascii():
        decomposed = unicodedata.normalize("NFKD", lowered.translate(_LIGATURES))
        lowered = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(lowered.split())


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """The half-open range ``[low, high)`` holding every normalised value starting with ``prefix``.

    A range on a plain index works the same on SQLite and PostgreSQL, unlike ``LIKE``.
    """
    low = normalise(prefix)
    return low, low + "\uffff"
