"""What the agent console's pages read: queues, the case page, the dashboard, administration."""
