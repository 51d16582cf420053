"""Detectors with one contract, ring assembly and scoring, the findings files,
and evaluation against planted labels."""
