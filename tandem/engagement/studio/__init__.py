"""Email Studio: emails and personalization strings."""
