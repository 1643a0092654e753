"""`tandem crm org …`: the Typer app of tandem/cli/crm_setup.py behind Django's command."""

from tandem.cli.crm_setup import org_app
from tandem.cli.django import typer_command

Command = typer_command(org_app, "org", "Manage CRM orgs.")
