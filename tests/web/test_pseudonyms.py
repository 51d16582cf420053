"""Pseudonyms that hold: an analyst's searches learn nothing about personal ids; free text is pseudonymised.

The ids here look like real ones (``AMO`` + 9 digits, ``06`` + 8 digits, 24-digit
bank accounts), as in the attack reported in issue 12: ``AMO0________`` with one
digit per position, keeping the digit whose answer holds a known pseudonym.
"""

from __future__ import annotations

import html
import json
import random
import re
from pathlib import Path

import pytest

from ingest.schema import CLAIM_DTYPES
from casework.audit import AuditLog
from tests.web.conftest import PASSWORD, RING_ID, fill_home, login
from web import create_app

DIGITS = "0123456789"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "web.md"


@pytest.fixture(scope="module")
def real_ids(tmp_path_factory):
    """A HOME whose people carry realistic ids; returns (home, {kind: raw id of the ring})."""
    from tests.conftest import RING_ACCOUNT, RING_DOCTOR, RING_PHONE, RING_PROVIDERS, make_tiny_claims
    from ground.settings import load_settings

    rng = random.Random(12)
    claims = make_tiny_claims()
    people = sorted(set(claims["beneficiary_id"].astype(str)) | set(claims["household_id"].astype(str)))
    amo = {p: f"AMO{rng.randrange(10 ** 9):09d}" for p in people}
    phones = {p: f"06{rng.randrange(10 ** 8):08d}" for p in sorted(set(claims["contact_phone"].dropna().astype(str)))}
    account = "".join(rng.choice(DIGITS) for _ in range(24))
    referrer = f"{rng.randrange(10 ** 9):09d}"
    for col in ("beneficiary_id", "household_id"):
        claims[col] = claims[col].astype(str).map(amo)
    claims["contact_phone"] = claims["contact_phone"].map(lambda v: phones.get(str(v)) if v is not None else None)
    ring_lines = claims["provider_id"].astype(str).isin(RING_PROVIDERS)
    claims["payee_account"] = claims["payee_account"].astype(object).where(~ring_lines, account)
    claims["referrer_id"] = claims["referrer_id"].astype(object).where(~ring_lines, referrer)
    for col, dtype in CLAIM_DTYPES.items():
        claims[col] = claims[col].astype(dtype)
    root = tmp_path_factory.mktemp("real-ids")
    settings = load_settings(None, {"SHABAKA_HOME": str(root / "home")})
    ring_people = {amo[f"BEN-R{k}"] for k in range(8)}
    fill_home(settings, claims, {"providers": set(RING_PROVIDERS), "doctor": RING_DOCTOR, "phone": phones[RING_PHONE],
                                 "account": account, "beneficiaries": ring_people}, root)
    secrets = {"BENEFICIARY": amo["BEN-R3"], "PHONE": phones[RING_PHONE], "ACCOUNT": account,
               "REFERRER": referrer}
    assert RING_ACCOUNT not in secrets.values()
    return settings, secrets


@pytest.fixture
def clients(real_ids):
    settings, secrets = real_ids
    app = create_app({"SHABAKA_SETTINGS": settings, "TESTING": True, "WTF_CSRF_ENABLED": False})
    return app, secrets


def _answer(client, q: str, page: bool = True) -> tuple:
    """What a search for ``q`` tells its user: API status and body, and (``page``) the search page's
    status, redirect and text with ``q`` blanked."""
    api = client.get("/api/search", query_string={"q": q, "limit": 100})
    if not page:
        return api.status_code, api.get_data(as_text=True)
    response = client.get("/entities", query_string={"q": q})
    text = response.get_data(as_text=True).replace(html.escape(q), "<Q>").replace(q, "<Q>")
    text = re.sub(r'name="csrf_token" value="[^"]*"', "", text)
    return api.status_code, api.get_data(as_text=True), response.status_code, response.headers.get("Location"), text


def _prefix_attack(client, secret: str, positions: range, fill: str, pseudonym: str, page: bool = False) -> set[str]:
    """Play the digit-by-digit attack over ``positions`` of ``secret``; returns the leaks seen (empty: learnt nothing).

    At each position every digit is tried, followed by ``fill`` (``"_"``: one
    wildcard per remaining character; else the text itself, ``"%"`` or nothing).
    A leak is an answer holding the target's pseudonym or raw id, or answers
    that differ between digits (an oracle). The attacker is then handed the
    right digit, so each position is tried as if the earlier ones had been learnt.
    """
    leaks = set()
    for pos in positions:
        rest = "_" * (len(secret) - pos - 1) if fill == "_" else fill
        answers = {d: _answer(client, secret[:pos] + d + rest, page) for d in DIGITS}
        for d, answer in answers.items():
            if any(pseudonym in part or secret in part for part in answer if isinstance(part, str)):
                leaks.add(f"position {pos} digit {d}: the answer holds the target")
        if len(set(answers.values())) > 1:
            leaks.add(f"position {pos}: the answer depends on the digit")
    return leaks


def _pseudonym(app, kind: str, raw: str) -> str:
    return app.extensions["shabaka_pseudonymiser"](kind, raw)


def test_the_digit_by_digit_attack_learns_nothing_about_a_beneficiary(clients):
    app, secrets = clients
    analyst = login(app.test_client(), "analyst")
    secret = secrets["BENEFICIARY"]
    target = _pseudonym(app, "BENEFICIARY", secret)
    assert target in analyst.get(f"/rings/{RING_ID}").get_data(as_text=True)  # what the attacker starts from
    # The reported attack (about 40 requests for the first four digits), here over all nine digits.
    assert _prefix_attack(analyst, secret, range(3, len(secret)), "_", target) == set()
    assert _prefix_attack(analyst, secret, range(3, 6), "_", target, page=True) == set()
    for fill in ("%", ""):
        assert _prefix_attack(analyst, secret, range(3, 7), fill, target) == set()


@pytest.mark.parametrize("kind", ["PHONE", "ACCOUNT", "REFERRER"])
def test_digit_prefixes_learn_nothing_about_phones_accounts_and_referrers(clients, kind):
    app, secrets = clients
    analyst = login(app.test_client(), "analyst")
    secret = secrets[kind]
    target = _pseudonym(app, kind, secret)
    for fill in ("%", ""):
        assert _prefix_attack(analyst, secret, range(1, 4), fill, target) == set()


def test_an_exact_raw_id_answers_like_an_id_that_does_not_exist(clients):
    app, secrets = clients
    analyst = login(app.test_client(), "analyst")
    for kind, secret in secrets.items():
        fake = secret[:-3] + ("999" if not secret.endswith("999") else "998")
        real_answer, fake_answer = _answer(analyst, secret), _answer(analyst, fake)
        assert real_answer == fake_answer, kind
        assert _pseudonym(app, kind, secret) not in json.dumps(real_answer)


def test_the_same_attack_does_find_an_investigators_entity(clients):
    """The harness can fail: for a role allowed to search real ids the oracle answers."""
    app, secrets = clients
    investigator = login(app.test_client(), "investigator")
    secret = secrets["BENEFICIARY"]
    assert _prefix_attack(investigator, secret, range(len(secret) - 1, len(secret)), "", secret)


def test_analysts_find_providers_and_pseudonyms_they_were_shown(clients):
    app, secrets = clients
    analyst = login(app.test_client(), "analyst")
    assert [r["node_id"] for r in analyst.get("/api/search?q=PRV-CLINIC-R").get_json()["results"]] == \
        ["PROVIDER:PRV-CLINIC-R"]
    target = _pseudonym(app, "BENEFICIARY", secrets["BENEFICIARY"])
    analyst.get(f"/rings/{RING_ID}")
    found = analyst.get("/api/search", query_string={"q": target}).get_json()["results"]
    assert [r["entity_id"] for r in found] == [target]


@pytest.mark.parametrize("q", ["%_" * 50, "_" * 100, "\\%\\_" * 25, "%" * 100])
def test_wildcards_are_literal_and_never_fail(clients, q):
    app, _ = clients
    for role in ("analyst", "investigator"):
        client = login(app.test_client(), role)
        response = client.get("/api/search", query_string={"q": q})
        assert response.status_code == 200 and response.get_json()["results"] == [], role


def test_a_long_search_is_refused_with_its_limit(clients):
    app, _ = clients
    client = login(app.test_client(), "investigator")
    response = client.get("/api/search", query_string={"q": "%_" * 50_000})
    assert response.status_code == 400
    assert "q" in response.get_json()["detail"] and "100" in response.get_json()["detail"]
    assert client.get("/entities", query_string={"q": "x" * 101}).status_code == 400


@pytest.mark.parametrize("q", ["x", " y ", "x" * 101, ""])
def test_a_search_out_of_bounds_is_refused_with_the_bounds_docs_give(clients, q):
    app, _ = clients
    client = login(app.test_client(), "investigator")
    documented = re.search(r"^\| `q` \| text, (\d+)\.\.(\d+) characters", DOCS.read_text(), re.M).groups()
    response = client.get("/api/search", query_string={"q": q})
    assert response.status_code == 400
    assert response.get_json()["detail"].endswith(f"expected {documented[0]} to {documented[1]} characters")
    assert client.get("/api/search", query_string={"q": "x" * int(documented[1])}).status_code == 200
    assert client.get("/api/search", query_string={"q": "xy"}).status_code == 200
    if q:
        assert client.get("/entities", query_string={"q": q}).status_code == 400
    else:
        assert client.get("/entities", query_string={"q": q}).status_code == 200  # the search page alone


def test_every_search_is_audited_and_personal_text_only_as_a_keyed_hash(clients):
    app, secrets = clients
    analyst = login(app.test_client(), "analyst")
    analyst.get("/api/search", query_string={"q": secrets["BENEFICIARY"]})
    analyst.get("/entities", query_string={"q": "PRV-CLINIC"})
    settings = app.config["SHABAKA_SETTINGS"]
    with AuditLog(settings.home_path) as log:
        entries = log.entries(limit=10, actor="analyst")
    searches = [e for e in entries if e["action"] in ("search", "api_search")]
    assert searches[0]["params"]["q"] == "PRV-CLINIC"
    hashed = searches[1]["params"]
    assert "q" not in hashed and len(hashed["q_hmac"]) == 64 and hashed["q_length"] == len(secrets["BENEFICIARY"])
    assert secrets["BENEFICIARY"] not in json.dumps(entries)


def test_case_comments_are_pseudonymised_for_analysts(clients):
    app, secrets = clients
    investigator = login(app.test_client(), "investigator")
    bene, phone = secrets["BENEFICIARY"], secrets["PHONE"]
    spaced = " ".join(phone[i:i + 2] for i in range(0, len(phone), 2))
    assert investigator.post(f"/cases/{RING_ID}/open").status_code == 302
    body = f"Called {bene} on {spaced}, then {phone}. Seen at PRV-CLINIC-R on 2025-03-12 (CIN 0612345678)."
    investigator.post(f"/cases/{RING_ID}/comment", data={"body": body})
    investigator.post(f"/cases/{RING_ID}/update", data={"disposition": f"refer {bene}"})
    assert bene in investigator.get(f"/cases/{RING_ID}").get_data(as_text=True)
    analyst = login(app.test_client(), "analyst")
    shown = [analyst.get(f"/cases/{RING_ID}").get_data(as_text=True),
             analyst.get(f"/rings/{RING_ID}").get_data(as_text=True),
             analyst.get(f"/api/rings/{RING_ID}").get_data(as_text=True),
             analyst.get("/api/cases").get_data(as_text=True),
             analyst.get("/cases").get_data(as_text=True)]
    for text in shown:
        assert bene not in text and phone not in text and spaced not in text and "0612345678" not in text
    page = shown[0]
    assert _pseudonym(app, "BENEFICIARY", bene) in page and _pseudonym(app, "PHONE", phone) in page
    assert "PRV-CLINIC-R" in page and "2025-03-12" in page and "[number hidden]" in page
