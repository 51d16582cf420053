"""Shabaka: find collusion rings in AMO health insurance claims.

This package is the top floor: the command line and the weekly job that tie
``ingest``, ``graph``, ``detectors``, ``casework``, ``export`` and ``web`` together.
No other package imports it.
"""
