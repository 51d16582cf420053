"""Rows read = rows loaded + rows quarantined, whatever a CSV holds."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings as hyp_settings, strategies as st

from ingest.store import ClaimsStore

_FIELD = st.text(alphabet=st.sampled_from(list("0123456789-.,; aZ\t\"é")), max_size=6)


@hyp_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_reconciliation_holds_for_mangled_csv(claims_lines, data):
    header = claims_lines[0].split(",")
    lines = [claims_lines[0]]
    for line in claims_lines[1:9]:
        values = line.split(",")
        for _ in range(data.draw(st.integers(0, 3))):
            values[data.draw(st.integers(0, len(values) - 1))] = data.draw(_FIELD)
        if data.draw(st.booleans()):
            values = values[: data.draw(st.integers(1, len(header)))]
        lines.append(",".join(values))
    lines += data.draw(st.lists(st.sampled_from(claims_lines[1:9]), max_size=3))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mangled.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with ClaimsStore(Path(tmp) / "home") as store:
            report = store.ingest([path], chunk_rows=4)
            assert report.read == report.loaded + report.quarantined
            assert report.loaded == len(store.claims())
            assert report.quarantined == len(store.quarantine())
            assert sum(report.by_rule.values()) == report.quarantined
            assert report.read <= len(lines) - 1
