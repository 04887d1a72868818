"""Pure domain model: entities, value objects and rules. No I/O, no ORM, no web."""
