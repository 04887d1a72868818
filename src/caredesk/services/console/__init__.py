"""What the agent console's pages read: queues, the case page, approvals, administration."""
