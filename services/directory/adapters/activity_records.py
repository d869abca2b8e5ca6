"""Activity rows as records: a professional, a site and an activity, keyed and fingerprinted."""
from __future__ import annotations

from functools import lru_cache
from operator import itemgetter
from typing import Any

from services.directory.adapters.bulk import Upsert
from services.directory.adapters.fingerprint import fingerprint
from services.directory.adapters.known import KnownFingerprints
from services.directory.adapters.rows import ActivityRow
from services.directory.adapters.tables import activity, organisation, professional
from services.directory.domain.codes import PROFESSIONS, SPECIALTIES, organisation_kind
from services.directory.domain.names import normalise

_FIELDS = ActivityRow._fields
# Rows are laid out so that an activity is a few values plus one slice of its row, and its
# ref one "|"-join of another: see ActivityRow.
_OWN = slice(_FIELDS.index("profession"), None)
_ref_fields = itemgetter(slice(_FIELDS.index("structure_id"), _FIELDS.index("role") + 1))
_own_fields = itemgetter(_OWN)
_site_fields = itemgetter(slice(_FIELDS.index("siret"), _FIELDS.index("legal_finess") + 1))
_person_fields = itemgetter(slice(_FIELDS.index("title"), _FIELDS.index("category") + 1))
# Row fields stored under another column name.
_COLUMN = {"skill": "specialty", "skill_label": "specialty_label", "fingerprint": "content_hash"}

PROFESSIONALS = Upsert(professional, (
    "idnps", "id_type", "identifier", "title", "civility", "family", "given", "category", "family_norm",
    "given_norm", "profession", "profession_label", "specialty", "specialty_label", "content_hash"), ("idnps",))
ORGANISATIONS = Upsert(organisation, (
    "id", "kind", "name", "name_norm", "source", "siret", "siren", "finess", "legal_finess",
    "trade_name", "sector", "postal_code", "commune_code", "city", "content_hash"), ("id",))
ACTIVITIES = Upsert(activity, (
    "professional_idnps", "ref", "organisation_id", "family_norm",
    *(_COLUMN.get(name, name) for name in _FIELDS[_OWN])), ("professional_idnps", "ref"))

_normalise = lru_cache(maxsize=1 << 16)(normalise)  # names repeat: most calls are hits
# Sites already sent during this import: hospitals and group practices recur on many lines.
_SENT_SITES_MAX = 200_000


class ActivityChunker:
    """Turns rows into records; a key met twice in a chunk is resolved by the writer.

    Given the fingerprints already in the table, a person whose lines all match them is skipped:
    nothing of theirs changed. A person is handled whole, so their record stays consistent.
    """

    def __init__(self, known: KnownFingerprints | None = None) -> None:
        self._known = known if known else None
        self._person: list[ActivityRow] = []
        self._professionals: list[tuple[Any, ...]] = []
        self._organisations: list[tuple[Any, ...]] = []
        self._activities: list[tuple[Any, ...]] = []
        self._sent_sites: set[str] = set()  # bounded: cleared when full, so memory stays flat
        self._idnps = ""
        self._family_norm = ""
        self._has_specialty = False

    def add(self, row: ActivityRow) -> None:
        if self._known is None:
            self._convert(row)
        elif self._person and row[:3] != self._person[0][:3]:
            self._settle()
            self._person = [row]
        else:
            self._person.append(row)

    def end(self) -> None:
        """No more rows: settle the last person."""
        if self._person:
            self._settle()
            self._person = []

    def _settle(self) -> None:
        meet = self._known.meet  # type: ignore[union-attr]
        if not all([meet(row.fingerprint) for row in self._person]):  # a list: meet every line
            for row in self._person:
                self._convert(row)

    def _convert(self, row: ActivityRow) -> None:
        idnps = row.idnps or row.id_type + row.identifier
        if idnps != self._idnps or (row.skill_type == "S" and not self._has_specialty):
            self._add_professional(idnps, row)
        structure = row.structure_id
        if structure and structure not in self._sent_sites:
            self._add_organisation(row)
        ref = "|".join(_ref_fields(row))
        self._activities.append((idnps, ref, structure, self._family_norm) + _own_fields(row))

    def result(self) -> bytes | None:
        """Which known fingerprints the lines met: the writer deactivates the others."""
        return self._known.met() if self._known is not None else None

    def absorb(self, result: bytes | None) -> None:
        if self._known is not None and result is not None:
            self._known.absorb(result)

    def take(self) -> dict[str, list[tuple[Any, ...]]]:
        # A chunk names a person or a site once (their first, then completed, record). The writer
        # puts them in key order (ActivityStore.write): the reading process has the longer task.
        records = {"professional": self._professionals, "organisation": self._organisations,
                   "activity": self._activities}
        self._professionals, self._organisations, self._activities = [], [], []
        return records

    def _add_professional(self, idnps: str, row: ActivityRow) -> None:
        # A person's lines follow one another; their specialty is their first ordinal one (type S).
        specialty = row.skill if row.skill_type == "S" else ""
        label = (row.skill_label or SPECIALTIES.get(specialty, "")) if specialty else ""
        family_norm = _normalise(row.family)
        values = (idnps, row.id_type, row.identifier) + _person_fields(row) + (
            family_norm, _normalise(row.given), row.profession,
            row.profession_label or PROFESSIONS.get(row.profession, ""), specialty, label)
        record = values + (fingerprint("\x1f".join(values).encode()),)
        if idnps == self._idnps and self._professionals:
            self._professionals[-1] = record  # the same person, now with their specialty
        else:
            self._professionals.append(record)
        self._idnps, self._family_norm, self._has_specialty = idnps, family_norm, bool(specialty)

    def _add_organisation(self, row: ActivityRow) -> None:
        name = row.org_name or row.trade_name
        values = (row.structure_id, organisation_kind(row.sector, name).value, name, _normalise(name),
                  "annuaire", *_site_fields(row), row.trade_name, row.sector, row.postal_code,
                  row.commune_code, row.city)
        self._organisations.append(values + (fingerprint("\x1f".join(values).encode()),))
        if len(self._sent_sites) >= _SENT_SITES_MAX:
            self._sent_sites.clear()
        self._sent_sites.add(row.structure_id)
