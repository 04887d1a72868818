"""Adapters: the outside world (database, mail, search, models) behind the services' ports."""
