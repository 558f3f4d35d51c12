"""Each role's home page, the language switch and the health check."""
