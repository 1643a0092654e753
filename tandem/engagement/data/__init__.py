"""Data extensions: typed tables of subscribers, imports and exports."""
