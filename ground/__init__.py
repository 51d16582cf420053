"""The ground floor of Shabaka: the exception hierarchy and the SQLite helpers.

Every package may import it; it imports nothing of the project.
"""
