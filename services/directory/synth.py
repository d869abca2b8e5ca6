"""Synthetic Personne_activite extracts in the real 52-column layout, deterministic for a seed."""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

from services.directory.adapters.annuaire_layout import PS_ACTIVITY_COLUMNS
from services.directory.domain.codes import PROFESSIONS, SECTORS, SPECIALTIES
from services.directory.synth_people import Person, people
from services.directory.synth_sites import Site, Sites

_MODES = {"L": "Libéral", "S": "Salarié"}
_AUTHORITY = {"10": "CNOM/CNOM/CNOM", "70": "CNOMK/CNOMK/CNOMK"}


def write_extract(path: Path, rows: int, seed: int = 0,
                  progress: Callable[[int], None] | None = None) -> int:
    """Write an extract of ``rows`` data lines to ``path`` and return the number written."""
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("|".join(PS_ACTIVITY_COLUMNS) + "|\n")
        batch: list[str] = []
        for line in lines(rows, seed):
            batch.append(line)
            written += 1
            if len(batch) == 10_000:
                out.write("".join(batch))
                batch.clear()
                if progress is not None:
                    progress(written)
        out.write("".join(batch))
    if progress is not None:
        progress(written)
    return written


def lines(rows: int, seed: int = 0) -> Iterator[str]:
    """The data lines (with their trailing ``|`` and newline), one per activity, grouped by person."""
    rng = random.Random(seed)
    sites = Sites(rng)
    count = 0
    for person in people(rng):
        places: set[tuple[str, str]] = set()  # one activity per site and mode, as in the real extract
        for activity in range(rng.choices((1, 2, 3), (70, 22, 8))[0]):
            site = sites.site_for(person, activity)
            place = (site.structure_id, site.mode) if site else ("", "L")
            if count == rows or place in places:
                continue
            places.add(place)
            yield _line(person, site) + "|\n"
            count += 1
        if count == rows:
            return


def _line(person: Person, site: Site | None) -> str:
    skill_type, skill_label = ("S", "Spécialité ordinale") if person.specialty else ("", "")
    mode = site.mode if site else "L"
    values = [
        person.id_type, person.identifier, person.id_type + person.identifier,
        person.title, "Docteur" if person.title == "DR" else "",
        person.civility, "Madame" if person.civility == "MME" else "Monsieur",
        person.family, person.given, person.profession, PROFESSIONS[person.profession],
        "C", "Civil", skill_type, skill_label, person.specialty,
        SPECIALTIES.get(person.specialty, ""), mode, _MODES[mode],
    ]
    values += site.columns() if site else [""] * 27
    sector = site.sector if site else ""
    values += [site.old_id if site else "", _AUTHORITY.get(person.profession, "ARS/ARS/ARS"),
               sector, SECTORS.get(sector, ""), "", ""]
    return "|".join(values)
