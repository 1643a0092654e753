"""`tandem crm permset …`: the Typer app of tandem/cli/crm_setup.py behind Django's command."""

from tandem.cli.crm_setup import permset_app
from tandem.cli.django import typer_command

Command = typer_command(permset_app, "permset", "Manage CRM permission sets.")
