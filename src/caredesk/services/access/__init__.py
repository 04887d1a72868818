"""Who may come in: agents, sessions, tokens, sign-in throttling, rate limits."""
