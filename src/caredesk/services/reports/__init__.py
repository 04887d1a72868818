"""Reporting: measures defined once, computed by the database, read through the API and CSV."""
