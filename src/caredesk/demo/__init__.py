"""The demo store: a store, its history and the five seed stories, all generated from a seed."""
