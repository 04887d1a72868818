"""caredesk: a customer-service desk that lets the front line say yes."""

__version__ = "0.1.0"
