"""Use cases. Each public function is one unit of work: one transaction, audited."""
