"""Casework over ``HOME/shabaka.sqlite``: detection runs, cases, viewer accounts and the
hash-chained audit log, used by the viewer and the command line alike.
"""
