"""Engagement accounts (business units), their users and roles."""
