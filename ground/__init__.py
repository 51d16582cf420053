"""The ground floor of Shabaka: the version, the exception hierarchy, the SQLite helpers
and the settings.

Every package may import it; it imports nothing of the project.
"""

__all__ = ["__version__"]

#: The software version written in runs and bundles; pyproject.toml carries the same.
__version__ = "0.1.0"
