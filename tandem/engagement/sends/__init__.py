"""Sends: send definitions, the delivery pipeline, test sends and tracking."""
