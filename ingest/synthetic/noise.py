"""Data-quality noise that real claims carry and a detector must survive, labelled as
look-alikes: free-text specialty spellings, optional fields left empty by some
providers' software, and phones written in several formats.

Each is a property of who writes the dossier, so it is drawn once per doctor, provider
or submission point (a clerk keeps his habits) and applied to every week's columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest.synthetic.ids import point_ids, provider_ids
from ingest.synthetic.providers import ProviderTable
from ingest.synthetic.world import WorldParams

__all__ = ["Noise", "PHONE_FORMATS", "draw_noise", "apply_noise", "format_phones", "noise_rows", "spellings"]

PHONE_FORMATS = ("canonical", "intl_plus", "spaced", "dashed", "intl_00", "intl_bare")
# Spellings seen in free-text specialty fields, on top of case and accent variants.
_ABBREVIATIONS = {
    "MEDECINE_GENERALE": ("MG", "Médecin généraliste", "GENERALISTE"),
    "CHIRURGIE_GENERALE": ("CHIR GEN", "Chirurgien généraliste", "CHIR. GENERALE"),
    "CHIRURGIE_VISCERALE": ("Chir viscérale", "CHIR. VISCERALE"),
    "TRAUMATOLOGIE_ORTHOPEDIE": ("Traumato", "ORTHOPEDIE", "Chirurgie orthopédique"),
    "GYNECOLOGIE_OBSTETRIQUE": ("Gyneco-obstetrique", "GYN OBS"),
    "ANESTHESIE_REANIMATION": ("Anesthésiste", "ANESTH-REA"),
    "GASTRO_ENTEROLOGIE": ("Gastro-entérologie", "GASTRO"),
    "CARDIOLOGIE": ("Cardiologue",),
    "ONCOLOGIE": ("Oncologie médicale", "ONCO"),
    "NEPHROLOGIE": ("Néphrologie", "Nephrologue"),
    "OPHTALMOLOGIE": ("Ophtalmo", "Ophtalmologie chirurgicale"),
    "PEDIATRIE": ("Pédiatrie", "Pediatre"),
    "GYNECOLOGIE": ("Gynécologie", "GYNECO"),
    "UROLOGIE": ("Urologue",),
}


@dataclass
class Noise:
    """Who writes what: per provider index ``written`` specialty text (None keeps the
    canonical one), ``no_ald``/``no_region``/``no_specialty`` (their lines leave the field
    empty) and ``provider_format`` (phone format on their direct-billing dossiers); per
    submission point ``point_format``; ``online_share`` of ONLINE dossiers written in
    international form."""

    written: np.ndarray
    no_ald: np.ndarray
    no_region: np.ndarray
    no_specialty: np.ndarray
    provider_format: np.ndarray
    point_format: np.ndarray
    online_share: float


def spellings(canonical: str) -> tuple[str, ...]:
    """Free-text ways of writing a canonical specialty code (never the code itself)."""
    words = canonical.replace("_", " ")
    out = [words.title(), words.lower(), canonical.replace("_", "-"), *_ABBREVIATIONS.get(canonical, ())]
    return tuple(dict.fromkeys(s for s in out if s != canonical))


def draw_noise(rng: np.random.Generator, params: WorldParams, prov: ProviderTable, n_points: int) -> Noise:
    """Draw each doctor's spelling, each provider's missing fields and phone format, and each
    submission point's phone format."""
    n = prov.n
    written = np.full(n, None, dtype=object)
    has = np.flatnonzero(prov.specialty != None)  # noqa: E711 - object array compared elementwise
    pick = has[rng.random(len(has)) < params.specialty_spelling_share]
    for i, u in zip(pick.tolist(), rng.random(len(pick)).tolist()):
        options = spellings(str(prov.specialty[i]))
        written[i] = options[int(u * len(options))]
    fmt_share = params.phone_format_share

    def formats(k: int) -> np.ndarray:
        other = rng.integers(1, len(PHONE_FORMATS), k)
        return np.where(rng.random(k) < fmt_share, other, 0).astype(np.int8)

    return Noise(written=written, no_ald=rng.random(n) < params.missing_ald_share,
                 no_region=rng.random(n) < params.missing_region_share,
                 no_specialty=rng.random(n) < params.missing_specialty_share,
                 provider_format=formats(n), point_format=formats(n_points), online_share=fmt_share)


def format_phones(texts: np.ndarray, fmt: np.ndarray) -> np.ndarray:
    """Rewrite canonical ``0XXXXXXXXX`` phones in the formats ``fmt`` (index into PHONE_FORMATS)."""
    out = texts.copy()
    for k in range(1, len(PHONE_FORMATS)):
        rows = np.flatnonzero((fmt == k) & (texts != None))  # noqa: E711
        if len(rows) == 0:
            continue
        uniq, inverse = np.unique(texts[rows].astype(str), return_inverse=True)
        out[rows] = np.array([_format_one(t, k) for t in uniq.tolist()], dtype=object)[inverse]
    return out


def _format_one(text: str, k: int) -> str:
    rest = text[1:]
    if k == 1:
        return "+212" + rest
    if k == 2:
        return " ".join(text[i:i + 2] for i in range(0, 10, 2))
    if k == 3:
        return "-".join(text[i:i + 2] for i in range(0, 10, 2))
    if k == 4:
        return "00212" + rest
    return "212" + rest


def apply_noise(noise: Noise, columns: dict[str, np.ndarray], provider: np.ndarray, doctor: np.ndarray,
                phone_format: np.ndarray) -> None:
    """Write the week's columns the way their authors do (in place).

    ``provider``/``doctor`` are the lines' provider indices, ``phone_format`` one format
    index per line (its dossier's).
    """
    safe_doc = np.maximum(doctor, 0)
    written = noise.written[safe_doc]
    respelled = (doctor >= 0) & (written != None)  # noqa: E711
    spec = columns["doctor_specialty"].copy()
    spec[respelled] = written[respelled]
    spec[noise.no_specialty[provider]] = None
    columns["doctor_specialty"] = spec
    ald = columns["ald"].astype(np.int8)
    ald[noise.no_ald[provider]] = -1
    columns["ald"] = ald
    no_region = noise.no_region[provider]
    for col in ("provider_region", "beneficiary_region"):
        values = columns[col].copy()
        values[no_region] = None
        columns[col] = values
    columns["contact_phone"] = format_phones(columns["contact_phone"], phone_format)


def noise_rows(noise: Noise, first_group: int, n_agencies: int) -> pd.DataFrame:
    """Look-alike rows of the noise kinds (group ids from ``LK-<first_group>`` on)."""
    gid = [f"LK-{first_group + k:04d}" for k in range(3)]
    parts = []
    docs = np.flatnonzero(noise.written != None)  # noqa: E711
    parts.append(("specialty_spelling", "DOCTOR", provider_ids(docs), gid[0], "specialty_spelling"))
    for role, mask in (("missing_ald", noise.no_ald), ("missing_region", noise.no_region),
                       ("missing_specialty", noise.no_specialty)):
        parts.append(("missing_fields", "PROVIDER", provider_ids(np.flatnonzero(mask)), gid[1], role))
    for k in range(1, len(PHONE_FORMATS)):
        parts.append(("phone_format", "SUBMISSION_POINT", point_ids(np.flatnonzero(noise.point_format == k),
                                                                    n_agencies), gid[2], PHONE_FORMATS[k]))
        parts.append(("phone_format", "PROVIDER", provider_ids(np.flatnonzero(noise.provider_format == k)),
                      gid[2], PHONE_FORMATS[k]))
    if noise.online_share > 0:
        parts.append(("phone_format", "CHANNEL", np.array(["ONLINE"], dtype=object), gid[2], PHONE_FORMATS[1]))
    frames = [pd.DataFrame({"kind": kind, "entity_type": etype, "entity_id": ids, "group_id": g, "role": role})
              for kind, etype, ids, g, role in parts if len(ids)]
    return pd.concat(frames, ignore_index=True)
