"""Shabaka: find collusion rings in AMO health insurance claims.

This package holds the command line, the settings and the jobs that tie
``ingest``, ``graph``, ``detectors`` and ``web`` together. Only
:mod:`shabaka.errors` is meant to be imported by those lower packages.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
