"""Reports: measures defined once, computed by the database, and the retention after a remedy."""
