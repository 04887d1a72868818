"""The empowerment engine's use cases: plans, grants, approvals, reversals, the policy in force."""
