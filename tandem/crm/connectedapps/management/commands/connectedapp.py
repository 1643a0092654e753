"""`tandem crm connectedapp …`: the Typer app of tandem/cli/crm_connectedapp.py behind
Django's command."""

from tandem.cli.crm_connectedapp import app
from tandem.cli.django import typer_command

Command = typer_command(app, "connectedapp", "Create, show and configure connected apps.")
