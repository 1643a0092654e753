"""`tandem engagement account …`: the Typer app of tandem/cli/engagement_accounts.py behind
Django's command."""

from tandem.cli.django import typer_command
from tandem.cli.engagement_accounts import account_app

Command = typer_command(account_app, "account", "Manage Engagement accounts.")
