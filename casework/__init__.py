"""Casework over the SQLite home: runs, cases, users, the audit log, and outcomes of inspections."""
