"""The ways in and out: mail, the customer portal, the tools AI agents call, webhooks."""
