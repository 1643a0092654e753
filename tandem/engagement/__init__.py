"""The Engagement service: accounts, Email Studio, content, data extensions, sends, Connect."""
