"""The local SMTP inbox: a real SMTP server that keeps every message in a Maildir."""
