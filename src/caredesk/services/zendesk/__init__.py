"""The Zendesk-compatible API's own needs: integer user ids for customers and agents."""
