"""A case's life after it opens: escalation, repeat asks, commitments, merge, proactive cases."""
