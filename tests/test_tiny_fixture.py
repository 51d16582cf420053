from ingest.schema import CLAIM_COLUMNS


def test_tiny_claims_follow_the_contract(tiny_claims, planted_ring):
    assert tuple(tiny_claims.columns) == CLAIM_COLUMNS
    assert not tiny_claims.duplicated(["claim_id", "line_no"]).any()
    ring_lines = tiny_claims[tiny_claims["beneficiary_id"].isin(planted_ring["beneficiaries"])]
    assert set(ring_lines["provider_id"]) == planted_ring["providers"]
