"""The investigators' viewer (Flask)."""
