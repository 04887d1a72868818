"""What every feature stands on: unit of work, commands, event bus, jobs, audit trail."""
