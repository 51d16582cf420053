"""What each ring member did, in one sentence with numbers, for the viewer and the report alike.

The detectors' evidence is structured for machines and names internal ids (a core's
id, an intermediary's id). This presentation layer reads the ring's own claim lines and
each member's role and writes what *this* member did, counted in the ring: lines,
dirhams, patients, providers, regions. It never writes an id: a member named in a
detector's text becomes "the ring's <role>". When a member has no line in the ring
(an inferred intermediary, a member outside the window) the sentence falls back to the
detector's evidence with its ids replaced.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from casework.ringmap import REGION_SEATS, haversine_km
from ingest.schema import ENTITY_COLUMNS, REGIONS

__all__ = [
    "ROLE_LABELS", "role_label", "member_sentences", "detector_notes", "ring_summary", "scrub_ids", "ID_PATTERN",
]

#: role -> (singular, plural), as the members table shows roles.
ROLE_LABELS: dict[str, tuple[str, str]] = {
    "clinic": ("clinic", "clinics"), "hospital": ("hospital", "hospitals"), "lab": ("lab", "labs"),
    "imaging": ("imaging centre", "imaging centres"), "pharmacy": ("pharmacy", "pharmacies"),
    "doctor": ("doctor", "doctors"), "dentist": ("dentist", "dentists"), "provider": ("provider", "providers"),
    "surgeon": ("surgeon", "surgeons"), "prescriber": ("prescriber", "prescribers"),
    "recruiter": ("recruiter", "recruiters"),
    "recruited_patient": ("recruited patient", "recruited patients"),
    "phantom_patient": ("phantom patient", "phantom patients"),
    "looped_patient": ("looped patient", "looped patients"), "core_patient": ("core patient", "core patients"),
    "patient": ("patient", "patients"), "phone": ("shared phone", "shared phones"),
    "account": ("shared account", "shared accounts"), "referrer": ("referrer", "referrers"),
    "submission_point": ("submission point", "submission points"),
}
#: Order of roles in a summary: practitioners, then go-betweens, then patients.
_ROLE_ORDER = ("clinic", "hospital", "imaging", "lab", "pharmacy", "dentist", "provider", "doctor", "surgeon",
               "prescriber", "recruiter", "referrer", "phone", "account", "submission_point", "recruited_patient",
               "phantom_patient", "looped_patient", "core_patient", "patient")
_PATIENT_SIDE = ("BENEFICIARY", "PHONE", "ACCOUNT", "REFERRER", "SUBMISSION_POINT")
_EXPENSIVE = {"SURGERY", "HOSPITAL_STAY"}
#: What looks like an internal id: a token with four or more digits in a row, a group id
#: (``cores-…``, ``loops-…``) joining ids with ``+``, or a prefixed code with digits (``INT-D83F5C19D311``).
ID_PATTERN = re.compile(r"[A-Za-z_]*[A-Za-z0-9~_+.-]*\d{4,}[A-Za-z0-9~_+.-]*|\b[a-z_]+-[A-Z][A-Za-z0-9~+_-]*"
                        r"|\b[A-Z]{2,}[-~](?=[A-Za-z0-9]*\d)[A-Za-z0-9]{4,}\b")
_TYPE_WORDS = r"intermediary|pharmacy|provider|doctor|clinic|lab|centre|core|loop|funnel|group|ring|patient"


def role_label(role: str, n: int = 1) -> str:
    """The words for a role, singular or plural: ``imaging`` -> ``imaging centre(s)``.

    Parameters
    ----------
    role : str
        As stored in members.csv.
    n : int
        How many.
    """
    singular, plural = ROLE_LABELS.get(str(role), (str(role).replace("_", " "), str(role).replace("_", " ") + "s"))
    return singular if n == 1 else plural


def ring_summary(ring: dict[str, Any], members: pd.DataFrame) -> str:
    """The ring in one sentence, counting members by role exactly as the members table shows them.

    Parameters
    ----------
    ring : dict
        The ring's row (scenario, amount_at_risk, detectors).
    members : DataFrame
        Its members (role).
    """
    counts = Counter(str(r) for r in members["role"]) if len(members) else Counter()
    order = {r: i for i, r in enumerate(_ROLE_ORDER)}
    parts = [f"{n} {role_label(r, n)}" for r, n in sorted(counts.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))]
    scenario = str(ring.get("scenario") or "ring").replace("_", " ")
    text = f"Suspected {scenario}: {', '.join(parts) if parts else 'no member'}"
    amount = ring.get("amount_at_risk")
    if amount is not None and not pd.isna(amount):
        text += f"; {float(amount):,.0f} MAD at risk"
    detectors = ring.get("detectors") or (ring.get("extra") or {}).get("detectors") or ""
    found_by = str(detectors).replace(",", ", ")
    return text + (f"; found by {found_by}." if found_by else ".")


def member_sentences(members: pd.DataFrame, lines: pd.DataFrame) -> list[str]:
    """One sentence per member (in the order of ``members``) saying what it did in the ring, with numbers.

    Parameters
    ----------
    members : DataFrame
        The ring's members (entity_type, entity_id, role, evidence).
    lines : DataFrame
        The ring's claim lines (claims-contract columns; missing ones count as unknown).

    Returns
    -------
    list of str
        No sentence contains an entity id or a detector's group id.
    """
    view = _Ring(members, lines)
    out = []
    for m in members.itertuples(index=False):
        text = view.sentence(str(m.entity_type), str(m.entity_id), str(m.role), str(getattr(m, "evidence", "") or ""))
        out.append(scrub_ids(text, view.labels))
    return out


def detector_notes(members: pd.DataFrame) -> list[str]:
    """Each member's detector evidence, ids replaced by words; empty when it measures nothing.

    A note without a number ("linked to this intermediary and sent to its destination",
    repeated on every patient of a group) adds nothing to the member's sentence.

    Parameters
    ----------
    members : DataFrame
        The ring's members (entity_id, role, evidence).
    """
    labels = {str(i): role_label(str(r)) for i, r in zip(members["entity_id"], members["role"])}
    notes = [scrub_ids(str(e), labels) for e in members["evidence"]]
    return [n if re.search(r"\d", n) else "" for n in notes]


def scrub_ids(text: str, labels: dict[str, str] | None = None) -> str:
    """``text`` with every internal id replaced by words: a known member by "the ring's <role>".

    Parameters
    ----------
    text : str
    labels : dict, optional
        Member id -> role words (``"surgeon"``).
    """
    labels = labels or {}

    def known(token: str) -> str | None:
        core = token[:-2] if token.endswith("'s") else token
        return labels.get(core.rstrip(".,;:"))

    def replace(m: re.Match) -> str:
        word, token = m.group("word") or "", m.group("id")
        tail = "'s" if token.endswith("'s") else ""
        label = known(token)
        if label:
            return f"the ring's {label}{tail}"
        return f"this {word.strip()}{tail}" if word else f"another entity{tail}"

    pattern = re.compile(rf"(?P<word>\b(?:{_TYPE_WORDS})\s+)?(?P<id>{ID_PATTERN.pattern}(?:'s)?)")
    out = pattern.sub(replace, str(text))
    return re.sub(r"\s{2,}", " ", out).strip()


class _Ring:
    """A ring's lines indexed for its members' sentences."""

    def __init__(self, members: pd.DataFrame, lines: pd.DataFrame):
        self.members = members
        cols = ["claim_id", "beneficiary_id", "household_id", "provider_id", "provider_type", "doctor_id",
                "act_family", "amount_claimed", "beneficiary_region", "provider_region", "regime",
                "contact_phone", "payee_account", "referrer_id", "submission_point_id", "channel", "at_risk"]
        # Python objects with None for missing values, one column at a time (not one cast per cell)
        self.lines = pd.DataFrame({c: _objects(lines[c]) if c in lines else pd.Series([None] * len(lines), dtype=object)
                                   for c in cols if c not in ("amount_claimed", "at_risk")})
        for c in ("amount_claimed", "at_risk"):
            self.lines.insert(cols.index(c), c, lines[c].to_numpy() if c in lines else np.full(len(lines), np.nan))
        self.lines["amount_claimed"] = pd.to_numeric(self.lines["amount_claimed"], errors="coerce").fillna(0.0)
        self.ids: dict[str, set[str]] = {t: set() for t in ENTITY_COLUMNS}
        for t, i in zip(members["entity_type"], members["entity_id"]):
            if t in self.ids:
                self.ids[t].add(str(i))
        self.labels = {str(i): role_label(str(r)) for i, r in zip(members["entity_id"], members["role"])}
        self.role_of = {str(i): str(r) for i, r in zip(members["entity_id"], members["role"])}
        # The ring's providers are its PROVIDER members; a ring of doctors alone counts those billing themselves.
        self.providers = self.ids["PROVIDER"] or {d for d in self.ids["DOCTOR"] if d in set(self.lines["provider_id"])}
        self.patient_lines = self._patient_lines()
        self._recruited: str | None = None
        # Each member's lines are looked up, not searched for: id -> row positions, per column.
        self._rows = {c: _positions(self.lines[c])
                      for c in ("beneficiary_id", "provider_id", "doctor_id", *(ENTITY_COLUMNS[t] for t in _PATIENT_SIDE))}
        # On third-party-payment dossiers the payee account is the provider's own: not shared by patients.
        direct = self.lines[self.lines["channel"] != "PROVIDER_DIRECT"]
        self._patients_of: dict[str, dict[str, set[str]]] = {}
        # and each patient's own values, gathered in the same pass rather than selected again per patient
        self._values_of: dict[str, dict[str, set[str]]] = {}
        for c in ("contact_phone", "payee_account"):
            found = self._patients_of[c] = {}
            mine = self._values_of[c] = {}
            for value, patient in zip(direct[c], direct["beneficiary_id"]):
                if value is not None and patient is not None:
                    found.setdefault(value, set()).add(patient)
                if value is not None:
                    mine.setdefault(patient, set()).add(value)

    def _own(self, column: str, entity_id: str) -> pd.DataFrame:
        """The lines whose ``column`` is ``entity_id``, in their order."""
        rows = self._rows.get(column, {}).get(entity_id)
        return self.lines.iloc[rows] if rows is not None else self.lines.iloc[:0]

    def _patient_lines(self) -> pd.DataFrame:
        mask = np.zeros(len(self.lines), dtype=bool)
        for entity_type in _PATIENT_SIDE:
            col = ENTITY_COLUMNS[entity_type]
            if self.ids[entity_type]:
                mask |= self.lines[col].isin(self.ids[entity_type]).to_numpy(bool)
        return self.lines[mask] if mask.any() else self.lines

    def sentence(self, entity_type: str, entity_id: str, role: str, evidence: str) -> str:
        if entity_type == "BENEFICIARY":
            own = self._own("beneficiary_id", entity_id)
            return self._patient(own, role, entity_id) if len(own) else self._fallback(role, evidence)
        if entity_type == "PROVIDER":
            own = self._own("provider_id", entity_id)
            return self._provider(own, role) if len(own) else self._fallback(role, evidence)
        if entity_type == "DOCTOR":
            attended = self._own("doctor_id", entity_id)
            billed = self._own("provider_id", entity_id)
            billed = billed[billed["doctor_id"] != entity_id]
            if len(attended):
                return self._doctor(attended, role) + (f" It also billed {_lines_mad(billed)} itself."
                                                       if len(billed) else "")
            return self._provider(billed, role) if len(billed) else self._fallback(role, evidence)
        if entity_type == "INTERMEDIARY":
            # every go-between of a ring is told from the same recruited patients' lines: told once
            if self._recruited is None:
                self._recruited = self._recruiter()
            return self._recruited or f"Inferred go-between (no claim line of its own). Detector: {evidence}"
        own = self._own(ENTITY_COLUMNS.get(entity_type, ""), entity_id)
        return self._shared(own, entity_type) if len(own) else self._fallback(role, evidence)

    def _patient(self, own: pd.DataFrame, role: str, patient: str) -> str:
        providers = own["provider_id"].dropna().unique()
        ring_providers = [p for p in providers if p in self.providers]
        n_ring = len(self.providers)
        expensive = own[own["act_family"].isin(_EXPENSIVE)]
        what = {"recruited_patient": "Recruited patient", "phantom_patient": "Phantom profile",
                "looped_patient": "Moved between the ring's providers", "core_patient": "Seen across the ring"}
        text = (f"{what.get(role, 'Patient')}: {_lines_mad(own)} at {len(ring_providers)} of the ring's "
                f"{n_ring} provider{'s' if n_ring != 1 else ''}")
        if len(expensive):
            text += f", {len(expensive)} of them surgery or hospital stays ({_mad(expensive)})"
        text += "."
        text += self._travel(own)
        if role == "phantom_patient" and not (own["act_family"] == "CONSULTATION").any():
            text += " No consultation before the acts."
        shared = self._shares(patient)
        return text + (f" {shared}" if shared else "")

    def _travel(self, own: pd.DataFrame) -> str:
        home = _mode(own["beneficiary_region"])
        dest = _mode(own["provider_region"])
        if not home:
            return ""
        if not dest or dest == home:
            return f" Lives in {REGIONS.get(home, home)}, treated in the same region."
        km = _seat_km(home, dest)
        return (f" Lives in {REGIONS.get(home, home)}, treated in {REGIONS.get(dest, dest)}"
                + (f" (about {km:,.0f} km away)." if km is not None else "."))

    def _shares(self, patient: str) -> str:
        out = []
        for col, word in (("contact_phone", "phone"), ("payee_account", "payee account")):
            values = self._values_of[col].get(patient) or set()
            if not values:
                continue
            patients_of = self._patients_of[col]
            others = len(set().union(*(patients_of.get(v, set()) for v in values))) - 1
            if others > 0:
                out.append(f"a {word} with {others} other patient{'s' if others != 1 else ''} in the ring's lines")
        return ("Shares " + " and ".join(out) + ".") if out else ""

    def _provider(self, own: pd.DataFrame, role: str) -> str:
        patients = own["beneficiary_id"].dropna().nunique()
        ring_patients = own["beneficiary_id"].isin(self.ids["BENEFICIARY"]).any() and own.loc[
            own["beneficiary_id"].isin(self.ids["BENEFICIARY"]), "beneficiary_id"].nunique()
        verb = {"pharmacy": "Dispensed", "lab": "Billed tests on", "imaging": "Billed imaging on"}.get(role, "Billed")
        text = f"{verb} {_lines_mad(own)} for {patients:,} patient{'s' if patients != 1 else ''}"
        if ring_patients:
            text += f" ({ring_patients} of them members of the ring)"
        far = _far_patients(own)
        if far:
            text += f"; {far:,} live in another region"
        expensive = own[own["act_family"].isin(_EXPENSIVE)]
        if len(expensive) and role not in ("pharmacy", "lab", "imaging"):
            text += f"; {len(expensive)} surgery or hospital-stay lines ({_mad(expensive)})"
        doctors = own["doctor_id"].isin(self.ids["DOCTOR"])
        if doctors.any():
            n_docs = own.loc[doctors, "doctor_id"].nunique()
            who = "prescribed by" if role in ("pharmacy", "lab", "imaging") else "attended by"
            text += (f"; {doctors.mean():.0%} of these lines {who} the ring's {n_docs} "
                     f"doctor{'s' if n_docs != 1 else ''}")
        return text + "."

    def _doctor(self, attended: pd.DataFrame, role: str) -> str:
        at_ring = attended[attended["provider_id"].isin(self.providers)]
        elsewhere = attended[~attended["provider_id"].isin(self.providers)]
        verb = "Prescribed" if role == "prescriber" else "Attended"
        n_ring = len(self.providers)
        if at_ring.empty:
            return (f"{verb} {_lines_mad(attended)} for {_patients(attended)}, none at the ring's "
                    f"{n_ring} provider{'s' if n_ring != 1 else ''}.")
        in_ring = list(at_ring["provider_id"].dropna().unique())
        text = (f"{verb} {_lines_mad(at_ring)} for {_patients(at_ring)} at {len(in_ring)} of the ring's "
                f"{n_ring} provider{'s' if n_ring != 1 else ''}")
        surgery = at_ring[at_ring["act_family"] == "SURGERY"]
        if len(surgery):
            text += f"; {len(surgery)} surgery lines ({_mad(surgery)})"
        far = _far_patients(at_ring)
        if far:
            text += f"; {far:,} of the patients live in another region"
        if role == "prescriber":
            top = str(at_ring["provider_id"].value_counts().idxmax())
            share = (at_ring["provider_id"] == top).sum() / max(int((self.lines["provider_id"] == top).sum()), 1)
            text += f"; {share:.0%} of the ring's lines at its {role_label(self.role_of.get(top, 'provider'))}"
        if len(elsewhere):
            text += f"; {_lines_mad(elsewhere)} more at other providers"
        return text + "."

    def _recruiter(self) -> str:
        """What the ring's go-betweens did ("" when its recruited patients have no line)."""
        recruited = self.members[self.members["role"] == "recruited_patient"]["entity_id"].astype(str)
        own = self.lines[self.lines["beneficiary_id"].isin(set(recruited))]
        if own.empty:
            return ""
        households = own["household_id"].dropna().nunique()
        text = (f"Inferred go-between linking {own['beneficiary_id'].nunique()} recruited patients"
                + (f" of {households} households" if households else "")
                + f", whose {_lines_mad(own)} went to the ring's providers")
        by_provider = own.groupby("provider_id")["amount_claimed"].sum()
        if len(by_provider) and by_provider.sum() > 0:
            top = str(by_provider.idxmax())
            text += f", {by_provider.max() / by_provider.sum():.0%} of it to the ring's {self.labels.get(top, 'provider')}"
        far = _far_patients(own)
        if far:
            text += f"; {far} of them live in another region"
        direct = own[own["channel"] != "PROVIDER_DIRECT"]
        shared = [word for col, word in (("contact_phone", "phone"), ("payee_account", "payee account"))
                  if direct.groupby(col)["beneficiary_id"].nunique().gt(1).any()]
        if shared:
            text += f"; their dossiers share a {' and a '.join(shared)}"
        return text + "."

    def _shared(self, own: pd.DataFrame, entity_type: str) -> str:
        word = {"PHONE": "phone", "ACCOUNT": "payee account", "REFERRER": "referrer",
                "SUBMISSION_POINT": "submission point"}.get(entity_type, entity_type.lower())
        patients = own["beneficiary_id"].dropna().nunique()
        households = own["household_id"].dropna().nunique()
        return (f"A {word} on {own['claim_id'].nunique():,} dossiers ({_lines_mad(own)}) of {patients} patients"
                + (f" from {households} households" if households else "") + ".")

    def _fallback(self, role: str, evidence: str) -> str:
        return f"{role_label(role).capitalize()} with no claim line in the ring's lines. Detector: {evidence}"


def _objects(values: pd.Series) -> pd.Series:
    """``values`` as Python objects, None where missing (what ``astype(object).where(notna, None)`` gives)."""
    return pd.Series(values.to_numpy(dtype=object, na_value=None), dtype=object)


def _positions(values: pd.Series) -> dict[Any, np.ndarray]:
    """Value -> its row positions, in order, missing values left out (``groupby(values).indices``)."""
    found: dict[Any, list[int]] = {}
    for i, value in enumerate(values):
        if value is not None:
            found.setdefault(value, []).append(i)
    return {value: np.array(rows, dtype=np.int64) for value, rows in found.items()}


def _lines_mad(lines: pd.DataFrame) -> str:
    n = len(lines)
    return f"{n:,} line{'s' if n != 1 else ''} ({_mad(lines)})"


def _patients(lines: pd.DataFrame) -> str:
    n = int(lines["beneficiary_id"].dropna().nunique())
    return f"{n:,} patient{'s' if n != 1 else ''}"


def _mad(lines: pd.DataFrame) -> str:
    return f"{float(lines['amount_claimed'].sum()):,.0f} MAD"


def _mode(values: Iterable[Any]) -> str | None:
    counts = Counter(str(v) for v in values if v is not None and not (isinstance(v, float) and np.isnan(v)))
    return counts.most_common(1)[0][0] if counts else None


def _far_patients(lines: pd.DataFrame) -> int:
    """Distinct patients of ``lines`` (the ring's, values None where missing) treated outside their region."""
    return len({bene for home, place, bene in zip(lines["beneficiary_region"], lines["provider_region"],
                                                   lines["beneficiary_id"])
                if home is not None and place is not None and bene is not None and str(home) != str(place)})


def _seat_km(a: str, b: str) -> float | None:
    if a not in REGION_SEATS or b not in REGION_SEATS:
        return None
    return float(haversine_km(REGION_SEATS[a][1], REGION_SEATS[a][2], REGION_SEATS[b][1], REGION_SEATS[b][2]))
