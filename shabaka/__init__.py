"""Shabaka: find collusion rings in AMO health insurance claims.

This package holds the command line, the settings and the jobs that tie
``ingest``, ``graph``, ``detectors``, ``casework`` and ``web`` together. No lower
package imports it.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
