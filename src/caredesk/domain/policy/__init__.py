"""The empowerment engine: policy as data, facts, eligibility, value, authority, the planner."""
