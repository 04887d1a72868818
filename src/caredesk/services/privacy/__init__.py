"""Erasure of a customer's data and retention of old data."""
