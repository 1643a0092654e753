"""The CRM service: orgs, users, Connected Apps, the OAuth server, records and the REST API."""
