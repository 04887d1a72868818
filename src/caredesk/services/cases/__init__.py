"""Cases: opening, replying, changing and listing them; customers and the catalogue."""
