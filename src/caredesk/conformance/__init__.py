"""Replays of public benchmarks through caredesk's own services and policy."""
