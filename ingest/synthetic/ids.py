"""Opaque identifiers for generated entities.

Internal indices are turned into ids through an affine bijection modulo a power
of ten, so ids look random, never collide, and carry no hint of what the entity
is (a phantom patient's id looks like any other patient's; a recruiter's phone
looks like a family phone).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "beneficiary_ids", "provider_ids", "phone_ids", "account_ids", "referrer_ids", "point_ids",
    "PHONE_PERSONAL", "PHONE_RECRUITER", "PHONE_VILLAGE", "PHONE_SERVICE", "ACCOUNT_PROVIDER", "ACCOUNT_RECRUITER",
    "ACCOUNT_SHARED", "REFERRER_RECRUITER", "REFERRER_NGO", "REFERRER_SOCIAL",
]

# Offsets that keep the kinds of phone / account / referrer in disjoint index ranges.
PHONE_PERSONAL = 20_000_000
PHONE_RECRUITER = 90_000_000
PHONE_VILLAGE = 95_000_000
PHONE_SERVICE = 96_000_000
ACCOUNT_PROVIDER = 5_000_000_000
ACCOUNT_RECRUITER = 9_000_000_000
ACCOUNT_SHARED = 9_500_000_000
REFERRER_RECRUITER = 900_000_000
REFERRER_NGO = 950_000_000
REFERRER_SOCIAL = 960_000_000


def _scramble(idx: np.ndarray, modulus: int, mult: int, add: int) -> np.ndarray:
    # mult is coprime with the modulus (odd, not a multiple of 5), so this is a bijection.
    return (idx.astype(np.int64) * mult + add) % modulus


def _format(values: np.ndarray, fmt: str, missing: np.ndarray | None = None) -> np.ndarray:
    """Format ``values`` once per distinct value (weeks reuse few thousand ids many times)."""
    out = np.empty(len(values), dtype=object)
    if len(values) == 0:
        return out
    keep = np.ones(len(values), bool) if missing is None else ~missing
    uniq, inverse = np.unique(values[keep], return_inverse=True)
    texts = np.array([fmt % v for v in uniq.tolist()], dtype=object)
    out[keep] = texts[inverse]
    out[~keep] = None
    return out


def beneficiary_ids(idx: np.ndarray) -> np.ndarray:
    """``AMO`` + 9 digits for person indices."""
    return _format(_scramble(idx, 10**9, 48_271_139, 312_345_677), "AMO%09d")


def provider_ids(idx: np.ndarray) -> np.ndarray:
    """INPE-like ``INPE`` + 9 digits for provider and doctor indices; -1 gives None."""
    idx = np.asarray(idx)
    return _format(_scramble(idx, 10**9, 69_621_011, 104_729_003), "INPE%09d", idx < 0)


def phone_ids(idx: np.ndarray) -> np.ndarray:
    """Moroccan-looking mobile numbers ``06xxxxxxxx`` / ``07xxxxxxxx``; -1 gives None."""
    idx = np.asarray(idx)
    v = _scramble(idx, 10**8, 16_807_013, 7_654_321)
    # The 06/07 prefix comes from the top half of the scrambled space, so (prefix, rest) stays unique.
    number = (6 + v // 50_000_000) * 10**8 + v % 50_000_000
    return _format(number, "0%09d", idx < 0)


def account_ids(idx: np.ndarray) -> np.ndarray:
    """Pseudonymous bank accounts ``RIB`` + 12 digits; -1 gives None."""
    idx = np.asarray(idx)
    return _format(_scramble(idx, 10**12, 2_147_483_647, 123_456_789_01), "RIB%012d", idx < 0)


def referrer_ids(idx: np.ndarray) -> np.ndarray:
    """National-id-like ``CIN`` + 9 digits for declared referrers; -1 gives None."""
    idx = np.asarray(idx)
    return _format(_scramble(idx, 10**9, 39_916_801, 271_828_183), "CIN%09d", idx < 0)


def point_ids(idx: np.ndarray, n_agencies: int) -> np.ndarray:
    """Agencies ``AG`` + 4 digits (indices below ``n_agencies``), proximity points ``PP`` + 6 digits."""
    idx = np.asarray(idx)
    out = np.empty(len(idx), dtype=object)
    ag = (idx >= 0) & (idx < n_agencies)
    pp = idx >= n_agencies
    out[ag] = _format(_scramble(idx[ag], 10**4, 7_919, 1_013), "AG%04d")
    out[pp] = _format(_scramble(idx[pp] - n_agencies, 10**6, 104_723, 99_991), "PP%06d")
    out[idx < 0] = None
    return out
