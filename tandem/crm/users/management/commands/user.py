"""`tandem crm user …`: the Typer app of tandem/cli/crm_setup.py behind Django's command."""

from tandem.cli.crm_setup import user_app
from tandem.cli.django import typer_command

Command = typer_command(user_app, "user", "Manage CRM users.")
