"""Synthetic practice sites: hospitals (FINESS), pharmacies, group and individual practices."""
from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

from services.directory.synth_data import COMMUNES, MAIL_DOMAINS, STREET_NAMES, STREET_TYPES
from services.directory.synth_people import Person
from services.shared.identifiers import luhn_check_digit

_PHONE_ZONES = {"75": "1", "78": "1", "92": "1", "93": "1", "94": "1", "95": "1", "97": "5"}
_ZONE_BY_DEPARTMENT = {
    "4": "13 06 34 83 38 69 42 30 84 26 73 74 66 2A 2B 01 63",
    "5": "31 33 64 17 79 86 87",
    "2": "44 35 29 56 76 14 49 72 37 45",
    "3": "59 62 67 68 51 57 54 21 25 10 80",
}
for _zone, _departments in _ZONE_BY_DEPARTMENT.items():
    _PHONE_ZONES.update(dict.fromkeys(_departments.split(), _zone))
_CABINET = {"10": "CABINET DU DR", "40": "CABINET DENTAIRE DU DR", "60": "CABINET INFIRMIER",
            "70": "CABINET DE KINESITHERAPIE", "50": "CABINET DE SAGE-FEMME"}


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.upper())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("-", " ")


@dataclass(frozen=True, slots=True)
class Site:
    structure_id: str
    name: str
    siret: str
    finess: str
    legal_finess: str
    sector: str
    mode: str
    address: tuple[str, ...]  # the 22 address and contact columns of the extract
    old_id: str

    def columns(self) -> list[str]:
        """The 27 columns from "Numéro SIRET site" to "Libellé Département (structure)"."""
        siren = self.siret[:9]
        return [self.siret, siren, self.finess, self.legal_finess, self.structure_id,
                self.name, "", *self.address]


class Sites:
    """Where activities take place; shared sites are drawn from per-commune pools."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._serial = 0
        self._hospitals = [[self._hospital(c, k) for k in range(2)] for c in range(len(COMMUNES))]
        self._pharmacies = [[self._pharmacy(c) for _ in range(6)] for c in range(len(COMMUNES))]
        self._groups = [[self._group(c) for _ in range(12)] for c in range(len(COMMUNES))]

    def site_for(self, person: Person, activity: int) -> Site | None:
        rng = self._rng
        if rng.random() < 0.03:
            return None  # registered without a practice site, as in the real extract
        commune = person.commune if activity == 0 else rng.randrange(len(COMMUNES))
        if rng.random() < person.salaried_share:
            return rng.choice(self._hospitals[commune])
        if person.profession == "21":
            return rng.choice(self._pharmacies[commune])
        if rng.random() < 0.5:
            return rng.choice(self._groups[commune])
        prefix = _CABINET.get(person.profession, "CABINET")
        return self._cabinet(commune, f"{prefix} {_plain(person.given)} {person.family}")

    def _siret(self) -> str:
        self._serial += 1
        siren = f"{(self._serial * 7_654_321 + 39_806_996) % 10**8:08d}"
        siren += luhn_check_digit(siren)
        nic = f"{siren}{self._rng.randrange(1, 100):04d}"
        return nic + luhn_check_digit(nic)

    def _finess(self, commune: int) -> str:
        department = COMMUNES[commune][0][:2]
        body = f"{department}{self._rng.randrange(10**6):06d}"
        return body + luhn_check_digit(body) if body.isdigit() else body + "0"

    def _hospital(self, commune: int, index: int) -> Site:
        finess, legal = self._finess(commune), self._finess(commune)
        city = _plain(COMMUNES[commune][2])
        name = f"CENTRE HOSPITALIER DE {city}"
        if index:
            name += f" - SITE {self._rng.choice(STREET_NAMES)}"
        return Site(f"F{finess}", name, self._siret(), finess, legal, "SA01", "S",
                    self._address(commune, f"secretariat@ch-{city.lower().replace(' ', '-')}.fr"),
                    f"1{finess}")

    def _pharmacy(self, commune: int) -> Site:
        finess = self._finess(commune)
        street = self._rng.choice(STREET_NAMES)
        return Site(f"F{finess}", f"PHARMACIE {street}", self._siret(), finess, "", "", "L",
                    self._address(commune, ""), f"1{finess}")

    def _group(self, commune: int) -> Site:
        name = f"MAISON DE SANTE {self._rng.choice(STREET_NAMES)} {_plain(COMMUNES[commune][2])}"
        return self._cabinet(commune, name, sector="")

    def _cabinet(self, commune: int, name: str, sector: str = "SA07") -> Site:
        siret = self._siret()
        email = f"{name.split()[-1].lower()}.{self._serial}@{self._rng.choice(MAIL_DOMAINS)}"
        return Site(f"C{siret}", name, siret, "", "", sector, "L",
                    self._address(commune, email if self._rng.random() < 0.4 else ""), f"3{siret}")

    def _address(self, commune: int, email: str) -> tuple[str, ...]:
        rng = self._rng
        insee, postal, city, department_name = COMMUNES[commune]
        department = insee[:3] if insee.startswith("97") else insee[:2]
        kind, kind_label = rng.choice(STREET_TYPES)
        # The postal office line names the city, not its arrondissement ("75011 PARIS").
        office = _plain(city).split(" ")[0] if "Arrondissement" in city else _plain(city)
        zone = _PHONE_ZONES.get(insee[:2], "4")
        phone = f"0{zone}{rng.randrange(10**8):08d}"
        mobile = f"0{rng.choice('67')}{rng.randrange(10**8):08d}" if rng.random() < 0.2 else ""
        fax = f"0{zone}{rng.randrange(10**8):08d}" if rng.random() < 0.3 else ""
        return ("", "", str(rng.randrange(1, 120)), "B" if rng.random() < 0.05 else "", kind,
                kind_label, rng.choice(STREET_NAMES), "", f"{postal} {office}", postal, insee,
                city, "99000", "France", phone, mobile, fax, email, department, department_name)
