"""Command-line verbs (to be filled by its area)."""

__all__ = ["COMMANDS"]

COMMANDS: list = []
