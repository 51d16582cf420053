"""Members' sentences: what each member did, with the ring's numbers, never an internal id."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from export.sentences import ID_PATTERN, detector_notes, member_sentences, ring_summary, scrub_ids

CLINIC, IMAGING, PHARMACY, LAB = "INPE100000001", "INPE100000002", "INPE100000003", "INPE100000004"
SURGEON, PRESCRIBER, GP = "INPE200000001", "INPE200000002", "INPE200000003"


def _line(i: int, ben: str, provider: str, ptype: str, doctor: str | None, family: str, amount: float, *,
          home: str = "02", where: str = "06", phone: str | None = None, account: str | None = None,
          household: str | None = None, channel: str = "AGENCY") -> dict:
    return {"claim_id": f"C{i:05d}", "line_no": 1, "beneficiary_id": ben, "household_id": household or ben,
            "provider_id": provider, "provider_type": ptype, "doctor_id": doctor, "act_family": family,
            "amount_claimed": amount, "beneficiary_region": home, "provider_region": where, "regime": "TADAMON",
            "contact_phone": phone, "payee_account": account, "referrer_id": None, "submission_point_id": None,
            "channel": channel}


def _members(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"ring_id": "RING-ABCDEF1234", "entity_type": t, "entity_id": i, "role": r, "score": 3.0,
                          "evidence": e} for t, i, r, e in rows])


def _funnel() -> tuple[pd.DataFrame, pd.DataFrame]:
    lines = []
    for k in range(4):  # four recruited patients from Oriental, two lines each at the clinic, one at imaging
        ben = f"AMO90000000{k}"
        lines += [_line(3 * k, ben, CLINIC, "CLINIC", SURGEON, "SURGERY", 5000.0, phone="0600000001"),
                  _line(3 * k + 1, ben, CLINIC, "CLINIC", SURGEON, "HOSPITAL_STAY", 1000.0, phone="0600000001"),
                  _line(3 * k + 2, ben, IMAGING, "IMAGING", SURGEON, "IMAGING", 500.0, phone="0600000001")]
    members = _members(
        [("INTERMEDIARY", "INT-EAD94C543390", "recruiter", "7 linked beneficiaries, 51% of their amount to one "
          "provider"),
         ("PROVIDER", CLINIC, "clinic", f"receives 51% of the amount of intermediary INT-EAD94C543390's patients"),
         ("PROVIDER", IMAGING, "imaging", "receives 32% of the amount of intermediary INT-EAD94C543390's patients"),
         ("DOCTOR", SURGEON, "surgeon", "receives 64% of the amount of intermediary INT-EAD94C543390's patients")]
        + [("BENEFICIARY", f"AMO90000000{k}", "recruited_patient",
            "linked to intermediary INT-EAD94C543390 and sent to its destination") for k in range(4)])
    return members, pd.DataFrame(lines)


def _no_ids(sentences: list[str], members: pd.DataFrame, extra: tuple[str, ...] = ()) -> None:
    ids = set(members["entity_id"]) | set(members["ring_id"]) | set(extra)
    for text in sentences:
        assert not any(i in text for i in ids), text
        assert not ID_PATTERN.search(text), text


def test_funnel_sentences_count_each_member_and_name_no_id():
    members, lines = _funnel()
    out = dict(zip(members["entity_id"], member_sentences(members, lines)))
    _no_ids(list(out.values()), members)
    assert out["AMO900000000"].startswith("Recruited patient: 3 lines (6,500 MAD) at 2 of the ring's 2 providers")
    assert "2 of them surgery or hospital stays (6,000 MAD)" in out["AMO900000000"]
    assert "Lives in Oriental, treated in Casablanca-Settat" in out["AMO900000000"]
    assert "Shares a phone with 3 other patients" in out["AMO900000000"]
    assert out[CLINIC].startswith("Billed 8 lines (24,000 MAD) for 4 patients (4 of them members of the ring)")
    assert "100% of these lines attended by the ring's 1 doctor" in out[CLINIC]
    assert out[SURGEON].startswith("Attended 12 lines (26,000 MAD) for 4 patients at 2 of the ring's 2 providers")
    assert "4 surgery lines (20,000 MAD)" in out[SURGEON]
    assert out["INT-EAD94C543390"].startswith("Inferred go-between linking 4 recruited patients")
    assert "92% of it to the ring's clinic" in out["INT-EAD94C543390"]


def test_phantom_patient_sentence_says_no_consultation_and_distance():
    lines = pd.DataFrame([_line(1, "AMO1", CLINIC, "CLINIC", GP, "SURGERY", 9000.0, home="11", where="06"),
                          _line(2, "AMO1", CLINIC, "CLINIC", GP, "HOSPITAL_STAY", 3000.0, home="11", where="06")])
    members = _members([("PROVIDER", CLINIC, "clinic", "phantom share z=6.1 against its peers"),
                        ("DOCTOR", GP, "doctor", "attends the phantoms of INPE100000001"),
                        ("BENEFICIARY", "AMO1", "phantom_patient", "seen only by INPE100000001")])
    out = member_sentences(members, lines)
    _no_ids(out, members)
    assert out[2].startswith("Phantom profile: 2 lines (12,000 MAD) at 1 of the ring's 1 provider")
    assert "No consultation before the acts." in out[2]
    assert "Lives in Laayoune-Sakia El Hamra, treated in Casablanca-Settat (about" in out[2]
    assert out[1].startswith("Attended 2 lines (12,000 MAD) for 1 patient at 1 of the ring's 1 provider")


def test_pharmacy_ring_sentences_give_the_prescribers_share():
    lines = pd.DataFrame([_line(i, f"AMO{i}", PHARMACY, "PHARMACY", PRESCRIBER if i < 6 else GP, "MEDICATION", 100.0,
                                home="07", where="07") for i in range(8)]
                         # the prescriber's own consultations: it bills as a provider, yet is no provider of the ring
                         + [_line(9, "AMO1", PRESCRIBER, "DOCTOR", PRESCRIBER, "CONSULTATION", 80.0, home="07",
                                  where="07")])
    members = _members([("PROVIDER", PHARMACY, "pharmacy", "28 ALD/injectable drug lines (z=152.4)"),
                        ("DOCTOR", PRESCRIBER, "prescriber",
                         "prescribes the ALD drugs pharmacy INPE100000003 dispenses to patients without ALD")])
    out = member_sentences(members, lines)
    _no_ids(out, members)
    assert out[0].startswith("Dispensed 8 lines (800 MAD) for 8 patients")
    assert "75% of these lines prescribed by the ring's 1 doctor" in out[0]
    assert out[1] == ("Prescribed 6 lines (600 MAD) for 6 patients at 1 of the ring's 1 provider; 75% of the ring's "
                      "lines at its pharmacy; 1 line (80 MAD) more at other providers.")


def test_mill_sentences_count_tests_and_far_patients():
    lines = pd.DataFrame([_line(i, f"AMO{i}", LAB, "LAB", PRESCRIBER, "BIOLOGY", 250.0, home="09" if i % 2 else "01",
                                where="01") for i in range(10)])
    members = _members([("PROVIDER", LAB, "lab", "2 referring doctor(s) send 21 patients"),
                        ("DOCTOR", PRESCRIBER, "prescriber", "sends 68 patients to INPE100000004 for 1,850 MAD")])
    out = member_sentences(members, lines)
    _no_ids(out, members)
    assert out[0].startswith("Billed tests on 10 lines (2,500 MAD) for 10 patients; 5 live in another region")
    assert "5 of the patients live in another region" in out[1]


def test_loop_sentences_use_the_rings_own_provider_count():
    """A looped patient in a 3-provider ring is counted against 3 providers, not "the 2 of the loop"."""
    lines = pd.DataFrame([_line(1, "AMO7", CLINIC, "CLINIC", SURGEON, "SURGERY", 4000.0),
                          _line(2, "AMO7", IMAGING, "IMAGING", SURGEON, "IMAGING", 600.0),
                          _line(3, "AMO8", LAB, "LAB", SURGEON, "BIOLOGY", 100.0)])
    members = _members([("PROVIDER", CLINIC, "clinic", "x"), ("PROVIDER", IMAGING, "imaging", "x"),
                        ("PROVIDER", LAB, "lab", "x"),
                        ("DOCTOR", SURGEON, "surgeon", "operates on patients moved between the 2 providers of the loop"),
                        ("BENEFICIARY", "AMO7", "looped_patient",
                         "had expensive acts at several providers of loop loops-INPE100000001+INPE100000002")])
    out = member_sentences(members, lines)
    _no_ids(out, members, ("loops-INPE100000001+INPE100000002",))
    assert out[4].startswith("Moved between the ring's providers: 2 lines (4,600 MAD) at 2 of the ring's 3 providers")
    assert out[3].startswith("Attended 3 lines (4,700 MAD) for 2 patients at 3 of the ring's 3 providers")


def test_core_patient_and_shared_phone_sentences():
    lines = pd.DataFrame([_line(1, "AMO1", CLINIC, "CLINIC", None, "CONSULTATION", 200.0, phone="0611", home="06"),
                          _line(2, "AMO1", LAB, "LAB", None, "BIOLOGY", 150.0, phone="0611", home="06"),
                          _line(3, "AMO2", LAB, "LAB", None, "BIOLOGY", 150.0, phone="0611", household="AMO1")])
    members = _members([("PROVIDER", CLINIC, "clinic", "x"), ("PROVIDER", LAB, "lab", "x"),
                        ("BENEFICIARY", "AMO1", "core_patient",
                         "seen by several providers of core cores-INPE104729003+INPE415054896+INPE649223775"),
                        ("PHONE", "0611", "phone", "shared by 2 households")])
    out = member_sentences(members, lines)
    _no_ids(out, members, ("cores-INPE104729003+INPE415054896+INPE649223775",))
    assert out[2].startswith("Seen across the ring: 2 lines (350 MAD) at 2 of the ring's 2 providers.")
    assert "Lives in Casablanca-Settat, treated in the same region." in out[2]
    assert out[3] == "A phone on 3 dossiers (3 lines (500 MAD)) of 2 patients from 1 households."


def test_provider_direct_accounts_are_not_counted_as_shared():
    lines = pd.DataFrame([_line(i, f"AMO{i}", CLINIC, "CLINIC", None, "SURGERY", 100.0, account="RIB-CLINIC",
                                channel="PROVIDER_DIRECT") for i in range(3)])
    members = _members([("BENEFICIARY", "AMO0", "recruited_patient", "x"), ("PROVIDER", CLINIC, "clinic", "x")])
    assert "account" not in member_sentences(members, lines)[0]


def test_member_without_lines_falls_back_to_the_detectors_evidence_without_ids():
    members = _members([("PROVIDER", CLINIC, "clinic", "x"),
                        ("DOCTOR", SURGEON, "surgeon",
                         "receives 64% of the amount of intermediary INT-EAD94C543390's patients at INPE100000001")])
    out = member_sentences(members, pd.DataFrame([_line(1, "AMO1", CLINIC, "CLINIC", None, "SURGERY", 10.0)]))
    _no_ids(out, members, ("INT-EAD94C543390",))
    assert out[1] == ("Surgeon with no claim line in the ring's lines. Detector: receives 64% of the amount of "
                      "this intermediary's patients at the ring's clinic")


@pytest.mark.parametrize("text,expected", [
    ("seen by several providers of core cores-INPE104729003+INPE415054896", "seen by several providers of this core"),
    ("linked to intermediary INT-EAD94C543390 and sent", "linked to this intermediary and sent"),
    ("linked to intermediary INT-D83F5C19D311 and sent", "linked to this intermediary and sent"),
    ("a K50 act under PA-0 and RING-ABCDEF1234", "a K50 act under PA-0 and another entity"),
    ("sends 68 patients to INPE440360742 for 1,850 MAD each (3.4 lines), z=6.2",
     "sends 68 patients to another entity for 1,850 MAD each (3.4 lines), z=6.2"),
    ("28 ALD/injectable drug lines (8% of its medication, z=152.4), 100% prescribed by 2 doctor(s)",
     "28 ALD/injectable drug lines (8% of its medication, z=152.4), 100% prescribed by 2 doctor(s)"),
])
def test_scrub_ids_replaces_ids_and_keeps_numbers(text, expected):
    assert scrub_ids(text) == expected


def test_summary_counts_members_by_the_role_the_table_shows():
    """A provider whose role is doctor is counted as a doctor (not "0 doctor(s)")."""
    members = _members([("PROVIDER", CLINIC, "clinic", "x"), ("PROVIDER", GP, "doctor", "x"),
                        ("DOCTOR", SURGEON, "surgeon", "x"), ("INTERMEDIARY", "INT-1", "recruiter", "x"),
                        *[("BENEFICIARY", f"AMO{k}", "recruited_patient", "x") for k in range(3)]])
    text = ring_summary({"scenario": "recruiter_funnel", "amount_at_risk": 1234.5,
                         "extra": {"detectors": "funnels,loops"}}, members)
    assert text == ("Suspected recruiter funnel: 1 clinic, 1 doctor, 1 surgeon, 1 recruiter, 3 recruited patients; "
                    "1,234 MAD at risk; found by funnels, loops.")
    assert not re.search(r"\b0 ", text)


def test_detector_notes_keep_measured_facts_without_ids_and_drop_bare_links():
    members = _members([
        ("BENEFICIARY", "AMO1", "core_patient", "seen by several providers of core cores-INPE104729003+INPE415054896"),
        ("PROVIDER", CLINIC, "clinic", "28 ALD/injectable drug lines for patients without ALD (z=152.4)"),
        ("DOCTOR", SURGEON, "surgeon", "receives 64% of the amount of intermediary INT-EAD94C543390's patients "
                                       "at INPE100000001")])
    assert detector_notes(members) == [
        "", "28 ALD/injectable drug lines for patients without ALD (z=152.4)",
        "receives 64% of the amount of this intermediary's patients at the ring's clinic"]
