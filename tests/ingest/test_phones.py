import random

import pyarrow as pa
import pytest

from ingest.phones import normalise_phone, normalise_phones
from ingest.schema import CLAIM_COLUMNS
from ingest.validate import validate_table
from ingest.validate_rows import validate_records


@pytest.mark.parametrize("written", ["0612345678", "+212612345678", "+212 6 12 34 56 78", "00212612345678",
                                     "06 12 34 56 78", "06-12-34-56-78", "06.12.34.56.78", "212612345678",
                                     "612345678", " (+212) 612-345-678 "])
def test_every_written_form_of_a_moroccan_phone_becomes_the_national_one(written):
    assert normalise_phone(written) == "0612345678"


def test_other_numbers_keep_their_digits_and_empty_stays_empty():
    assert normalise_phone("+33 1 23 45 67 89") == "+33123456789"
    assert normalise_phone("0600") == "0600"
    assert normalise_phone(None) is None
    assert normalise_phone("n/a") == "n/a"
    assert normalise_phone("PHONE-FAM-1") == "PHONE-FAM-1"
    assert normalise_phone("06 12 34 56 78 poste 2") == "06 12 34 56 78 poste 2"


def test_the_arrow_path_gives_what_the_function_gives_and_keeps_nulls():
    values = ["+212 6 12 34 56 78", None, "0612345678", "06-99-88-77-66", "+212612345678"]
    out = normalise_phones(pa.array(values, type=pa.string())).to_pylist()
    assert out == [normalise_phone(v) for v in values] == ["0612345678", None, "0612345678", "0699887766",
                                                           "0612345678"]


ROW = {"claim_id": "FS1", "line_no": "1", "beneficiary_id": "B1", "household_id": "B1", "regime": "TADAMON",
       "provider_id": "P1", "provider_type": "CLINIC", "act_code": "C", "act_family": "CONSULTATION",
       "quantity": "1", "service_date": "2025-03-01", "submission_date": "2025-03-02", "amount_claimed": "150"}


def test_ingest_stores_one_form_on_both_validation_paths():
    spaced = {c: ROW.get(c, "") for c in CLAIM_COLUMNS} | {"contact_phone": "+212 6 12 34 56 78"}
    valid, _pos, _issues = validate_records([spaced])
    assert valid["contact_phone"] == ["0612345678"]
    table = pa.table({k: pa.array([v], type=pa.string()) for k, v in spaced.items()})
    assert validate_table(table).valid.column("contact_phone").to_pylist() == ["0612345678"]


def test_the_arrow_kernels_agree_with_the_function_on_any_text():
    rng = random.Random(7)
    separators = list("0123456789 +-./()")
    odd = ["\t", "\x0b", "\x1c", "A", "\u0663", "\xa0", "\u2007"]  # control, letter, Arabic digit, Unicode spaces
    written = ["0612345678", "00212 6 12 34 56 78", "212612345678", "+612345678", "0021261234567", "+", "", None]
    for _ in range(5000):
        pool = separators + odd if rng.random() < 0.3 else separators
        written.append("".join(rng.choice(pool) for _ in range(rng.randint(0, 16))))
    assert normalise_phones(pa.array(written, pa.string())).to_pylist() == [normalise_phone(w) for w in written]
