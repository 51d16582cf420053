"""Casework over ``HOME/shabaka.sqlite``: detection runs, cases, viewer accounts, the
hash-chained audit log and the outcomes of inspections, used by the viewer and the command
line alike.
"""
