"""Setup → Connected Apps (placeholder until the pages land)."""
