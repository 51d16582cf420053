"""Shared fixtures: a tiny claims set with a planted ring, and a Shabaka home."""

from __future__ import annotations

import pandas as pd
import pytest

pytest_plugins = ["pytester"]

from ingest.schema import CLAIM_COLUMNS, CLAIM_DTYPES
from ground.settings import load_settings

RING_PROVIDERS = ("PRV-CLINIC-R", "PRV-LAB-R")
RING_DOCTOR = "DOC-R"
RING_PHONE = "PHONE-R"
RING_ACCOUNT = "RIB-R"


def _line(claim_id, line_no, bene, household, regime, region, provider, ptype, pregion, doctor, act, family,
          amount, day, *, phone=None, account=None, point=None, ald=False, prior=None, channel="AGENCY"):
    return {
        "claim_id": claim_id, "line_no": line_no, "beneficiary_id": bene, "household_id": household,
        "regime": regime, "birth_year": 1960, "sex": "F", "beneficiary_region": region, "ald": ald,
        "provider_id": provider, "provider_type": ptype, "provider_region": pregion,
        "doctor_id": doctor, "doctor_specialty": "CHIRURGIE_GENERALE" if doctor == RING_DOCTOR else "MEDECINE_GENERALE",
        "act_code": act, "act_family": family, "quantity": 1, "stay_days": None,
        "service_date": day, "submission_date": day, "amount_claimed": amount, "amount_reimbursed": amount * 0.8,
        "prior_auth_id": prior, "channel": channel, "submission_point_id": point,
        "contact_phone": phone, "payee_account": account, "referrer_id": None,
    }


def make_tiny_claims() -> pd.DataFrame:
    """About 60 claim lines: ordinary patients of four providers, and one planted ring.

    The ring: eight unrelated Tadamon households from region 08 share one phone and
    one payee account, all brought on the same day to a clinic in region 06, where
    one surgeon bills surgery with prior authorisations and a lab bills biology.
    """
    rows = []
    n = 0
    for i in range(24):
        bene = f"BEN-{i:03d}"
        household = f"BEN-{i - i % 2:03d}"  # pairs of family members share a household and a phone
        provider = ("PRV-CLINIC-A", "PRV-DOC-B", "PRV-LAB-C", "PRV-PHARMA-D")[i % 4]
        ptype = ("CLINIC", "DOCTOR", "LAB", "PHARMACY")[i % 4]
        family = ("CONSULTATION", "CONSULTATION", "BIOLOGY", "MEDICATION")[i % 4]
        for visit in range(2):
            n += 1
            rows.append(_line(f"CLM-{n:04d}", 1, bene, household, ("SALARIES", "TADAMON")[i % 2], "06",
                              provider, ptype, "06", f"DOC-{i % 3}", "C", family, 150.0 + 10 * visit,
                              f"2025-03-{3 + i % 20:02d}", phone=f"PHONE-FAM-{i // 2}", point="POINT-BIG"))
    for k in range(8):
        bene = f"BEN-R{k}"
        n += 1
        claim = f"CLM-{n:04d}"
        common = dict(phone=RING_PHONE, account=RING_ACCOUNT, point="POINT-SMALL-R", channel="PROXIMITY_POINT")
        rows.append(_line(claim, 1, bene, bene, "TADAMON", "08", RING_PROVIDERS[0], "CLINIC", "06", RING_DOCTOR,
                          "K50", "SURGERY", 6000.0, "2025-03-12", prior=f"PA-{k}", **common))
        rows.append(_line(claim, 2, bene, bene, "TADAMON", "08", RING_PROVIDERS[1], "LAB", "06", RING_DOCTOR,
                          "B120", "BIOLOGY", 480.0, "2025-03-12", **common))
    frame = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
    for col, dtype in CLAIM_DTYPES.items():
        frame[col] = frame[col].astype(dtype)
    return frame


@pytest.fixture
def tiny_claims() -> pd.DataFrame:
    """A fresh copy of :func:`make_tiny_claims`."""
    return make_tiny_claims()


@pytest.fixture
def planted_ring() -> dict:
    """What the tiny claims' planted ring is made of."""
    return {
        "providers": set(RING_PROVIDERS),
        "doctor": RING_DOCTOR,
        "beneficiaries": {f"BEN-R{k}" for k in range(8)},
        "phone": RING_PHONE,
        "account": RING_ACCOUNT,
    }


@pytest.fixture
def settings(tmp_path):
    """Settings with a fresh ``SHABAKA_HOME`` under ``tmp_path`` and no environment."""
    return load_settings(None, {"SHABAKA_HOME": str(tmp_path / "home")})


@pytest.fixture(scope="session")
def shabaka_cmd() -> str:
    """The installed ``shabaka`` console script of the venv running the tests (not ``python -m``)."""
    import shutil
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "shabaka"
    if not script.is_file():
        found = shutil.which("shabaka")
        assert found, "the shabaka console script is not installed: run `make setup`"
        script = Path(found)
    return str(script)


#: System commands some tests need, and the Debian package that brings each (README and .ci/run name them too).
SYSTEM_TOOLS: dict[str, str] = {
    "chromium": "chromium",
    "pdftoppm": "poppler-utils",
    "pdftotext": "poppler-utils",
    "sha256sum": "coreutils",
}
_MISSING_TOOLS: dict[str, set[str]] = {}


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_tool(*commands): needs these system commands (see SYSTEM_TOOLS)")


def pytest_runtest_setup(item):
    """A test marked ``needs_tool`` is skipped, naming the package to install, when a command is missing;
    under CI (``CI=true``) it fails instead, so a machine missing a package cannot pass by skipping."""
    import os
    import shutil

    for marker in item.iter_markers("needs_tool"):
        missing = [tool for tool in marker.args if shutil.which(tool) is None]
        if not missing:
            continue
        packages = sorted({SYSTEM_TOOLS.get(tool, tool) for tool in missing})
        for tool in missing:
            _MISSING_TOOLS.setdefault(tool, set()).add(item.nodeid)
        message = f"{', '.join(missing)} not installed: apt-get install {' '.join(packages)}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)


def pytest_terminal_summary(terminalreporter):
    """Say at the end which system commands were missing, how many tests that skipped, and what to install."""
    if not _MISSING_TOOLS:
        return
    terminalreporter.section("missing system tools", yellow=True)
    for tool, tests in sorted(_MISSING_TOOLS.items()):
        terminalreporter.write_line(f"{tool}: needed by {len(tests)} test(s), not run; "
                                    f"apt-get install {SYSTEM_TOOLS.get(tool, tool)}")
