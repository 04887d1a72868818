"""Knowledge: articles and known issues, search, macros, triage, and measuring them."""
