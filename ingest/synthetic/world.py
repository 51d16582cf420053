"""The parameters of one generated world, drawn per seed from documented ranges.

No two seeds share one recipe: shares (Tadamon households, cash households, phones),
sizes (rings, recruiters' households, look-alike groups), distances (how far recruiters
and caravans go) and camouflage (how much each ring blends in) are drawn from the
ranges of :data:`PARAMETER_RANGES`, listed with their meaning in ``docs/generator.md``.
The draw is written to ``world.json`` next to the claims (ground truth, never read by
detectors).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["WorldParams", "PARAMETER_RANGES", "draw_params"]

# name -> (low, high, kind, help); kind "int" draws an integer in [low, high], "float" a
# uniform number in [low, high). Counts "per unit" are multiplied by the intensity
# (1 = scale 1 over 12 weeks) and kept at one at least.
PARAMETER_RANGES: dict[str, tuple[float, float, str, str]] = {
    # population
    "tadamon_share": (0.36, 0.50, "float", "share of households under AMO Tadamon"),
    "tadamon_cash_share": (0.35, 0.65, "float", "share of Tadamon households with no bank account (paid in cash)"),
    "phone_share": (0.88, 0.97, "float", "share of households with a family phone on file"),
    "stay_home": (0.84, 0.95, "float", "share of visits made in the patient's own region"),
    # planted fraud
    "funnels_per_unit": (4, 8, "int", "recruiter funnels"),
    "rings_per_unit": (2, 4, "int", "rings of each other kind (kickback, phantom, pharmacy, lab mill, upcoder)"),
    "far_km": (180.0, 320.0, "float", "recruited and phantom patients live at least this far from the clinic"),
    "recruiter_households": (12, 40, "int", "households a recruiter brings (before the volume factor)"),
    "camouflage_jitter": (0.0, 0.25, "float", "each ring's camouflage is the requested one plus up to this much"),
    "diluted_share": (0.3, 0.7, "float", "share of rings whose members' lines are 70-90% ordinary care"),
    "rotating_share": (0.2, 0.6, "float", "share of recruiters who rotate phones and accounts and file at ordinary points"),
    "fabricated_consult_share": (0.3, 0.7, "float", "share of phantom rings that also bill fabricated consultations"),
    "two_region_share": (0.2, 0.5, "float", "share of kickback, pharmacy and lab-mill rings spanning two regions"),
    "coefficient_upcoder_share": (0.3, 0.7, "float", "share of upcoders inflating coefficients only (no longer stays)"),
    # legitimate look-alikes
    "dialysis_per_unit": (1, 3, "int", "dialysis centres"),
    "dialysis_patients": (15, 40, "int", "patients per dialysis centre, three sessions a week"),
    "oncologists_per_unit": (2, 5, "int", "oncologists and other ALD specialists with costly injectables"),
    "oncology_patients": (10, 30, "int", "ALD patients per oncologist"),
    "gp_pharmacy_per_unit": (4, 10, "int", "general practitioners with a pharmacy next door"),
    "gp_pharmacy_loyalty": (0.7, 0.95, "float", "share of the GP's households whose usual pharmacy is next door"),
    "caravans_per_unit": (2, 4, "int", "NGO health caravans (cataract, dental, screening)"),
    "caravan_size": (25, 80, "int", "villagers screened by one caravan"),
    "caravan_km": (40.0, 220.0, "float", "how far a caravan's commune may be from its clinic"),
    "social_workers_per_unit": (2, 4, "int", "hospital social workers declared as referrers"),
    "social_worker_weekly": (3, 10, "int", "Tadamon patients a social worker refers each week"),
    "referral_clinics_per_unit": (1, 3, "int", "big regional referral clinics"),
    "referral_catchment_km": (100.0, 260.0, "float", "catchment of a referral clinic"),
    "referral_weekly": (6, 18, "int", "surgeries a week at a referral clinic, on top of ordinary care"),
    "growing_clinics_per_unit": (1, 3, "int", "clinics opening mid-period and growing fast"),
    "growing_weekly_step": (1, 4, "int", "extra surgeries a week added each week since opening"),
    "village_phones_per_unit": (5, 15, "int", "village phones written on many elderly neighbours' dossiers"),
    "village_households": (8, 30, "int", "elderly households per village phone"),
    "tiers_payant_accounts_per_unit": (1, 3, "int", "tiers-payant accounts shared by thousands"),
    "tiers_payant_households": (500, 3000, "int", "households paid through one tiers-payant account"),
    "emergency_rate": (0.00015, 0.0004, "float", "emergency surgeries with no prior consultation, per person-week"),
    # noise
    "specialty_spelling_share": (0.1, 0.4, "float", "share of doctors whose specialty is written in free text"),
    "missing_ald_share": (0.05, 0.3, "float", "share of providers whose lines leave the ALD flag empty"),
    "missing_region_share": (0.02, 0.15, "float", "share of providers whose lines leave both regions empty"),
    "missing_specialty_share": (0.05, 0.2, "float", "share of providers whose lines leave the specialty empty"),
    "phone_format_share": (0.1, 0.4, "float", "share of submission points and providers writing phones in another format"),
}


@dataclass(frozen=True)
class WorldParams:
    """One draw of :data:`PARAMETER_RANGES` (attribute per name) plus the requested camouflage."""

    camouflage: float
    values: dict

    def __getattr__(self, name: str) -> float:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(name)

    def per_unit(self, name: str, intensity: float) -> int:
        """A count per unit of intensity, scaled and at least one."""
        return max(1, int(round(self.values[name] * intensity)))

    def as_dict(self) -> dict:
        """Plain data for ``world.json``."""
        return asdict(self)


def draw_params(rng: np.random.Generator, camouflage: float) -> WorldParams:
    """Draw every parameter of :data:`PARAMETER_RANGES` in declaration order."""
    values: dict[str, float] = {}
    for name, (low, high, kind, _help) in PARAMETER_RANGES.items():
        if kind == "int":
            values[name] = int(rng.integers(int(low), int(high) + 1))
        else:
            values[name] = round(float(rng.uniform(low, high)), 6)
    return WorldParams(camouflage=float(camouflage), values=values)
