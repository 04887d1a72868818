"""Service levels: calendars, SLA policies and each case's clocks."""
