"""Reports: measures defined once, computed by the database, read through the API and CSV, and the
retention after a remedy."""
