"""Email adapters: parsing raw messages, the SMTP listener, mailbox imports."""
