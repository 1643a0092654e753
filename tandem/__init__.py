"""Tandem: a Salesforce-compatible CRM, a marketing Engagement service, and Connect."""
