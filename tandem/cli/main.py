"""The `tandem` command: run, manage and inspect both services."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from tandem.cli import connect as connect_cli
from tandem.cli import connect_sync as sync_cli
from tandem.cli import inbox
from tandem.cli import keys as keys_cli
from tandem.cli import send as send_cli
from tandem.cli.de import app as de_app
from tandem.cli.demo_connect import demo_connect_step, demo_legacy_connect, demo_stack
from tandem.cli.demo_crm import prepare_crm_demo, read_demo_json, run_service
from tandem.cli.demo_engagement import prepare_engagement_demo
from tandem.cli.django import manage, use_service
from tandem.cli.errors import CliError
from tandem.cli.style import error_line, run_app
from tandem.cli.up import Stack, ensure_running, run_up, stack_env, with_https_port, with_local_tls
from tandem.core.env import EnvError
from tandem.core.paths import var_dir

app = typer.Typer(
    help="Tandem: a Salesforce-compatible CRM, a marketing Engagement service, and Connect.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(inbox.app, name="inbox")
app.add_typer(de_app, name="de")
app.add_typer(send_cli.app, name="send")
app.add_typer(connect_cli.app, name="connect")
connect_cli.app.add_typer(sync_cli.app, name="sync")
app.add_typer(keys_cli.app, name="keys")
console = Console(highlight=False)

# Everything after `tandem crm` / `tandem engagement` goes to Django, --help included.
PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


@app.command("crm", context_settings=PASSTHROUGH, add_help_option=False)
def crm(ctx: typer.Context) -> None:
    """Run a CRM command: org, user, permset, connectedapp or any Django management command.

    Example: tandem crm org create --name Acme --my-domain acme
    """
    manage("crm", ctx.args or ["help"])


@app.command("engagement", context_settings=PASSTHROUGH, add_help_option=False)
def engagement(ctx: typer.Context) -> None:
    """Run an Engagement management command.

    Example: tandem engagement migrate
    """
    manage("engagement", ctx.args or ["help"])


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 2,
    queues: Annotated[str | None, typer.Option(help="Comma-separated queues.")] = None,
    service: Annotated[
        str, typer.Option(help="engagement (sends, syncs) or crm (Bulk API jobs).")
    ] = "engagement",
) -> None:
    """Run a Celery worker for one service's queues (the Engagement's by default).

    Example: tandem worker --service crm --concurrency 1
    """
    if service not in ("engagement", "crm"):
        raise typer.BadParameter("engagement or crm", param_hint="--service")
    use_service(service)
    from django.conf import settings

    from config.celery import app as celery_app

    chosen = queues or ",".join(settings.WORKER_QUEUES)
    celery_app.worker_main(
        ["worker", "-Q", chosen, "--concurrency", str(concurrency), "--loglevel", "INFO"]
    )


UpHost = Annotated[str, typer.Option(help="Address every part listens on.")]
UpPort = Annotated[int, typer.Option(min=1, max=65535)]
HttpsPort = Annotated[
    int,
    typer.Option(
        min=0,
        max=65535,
        help="Also serve the CRM over HTTPS on this port, from the local CA (0: not at all).",
    ),
]


@app.command()
def up(
    host: UpHost = "127.0.0.1",
    crm_port: UpPort = 8001,
    engagement_port: UpPort = 8002,
    inbox_port: UpPort = 2525,
    web_workers: Annotated[int, typer.Option(min=1)] = 2,
    https: Annotated[bool, typer.Option(help="Serve the CRM over HTTPS from a local CA.")] = False,
    crm_https_port: HttpsPort = 8443,
) -> None:
    """Migrate both databases and run CRM, Engagement, their workers and the inbox until Ctrl-C.

    Example: tandem up --https
    """
    stack = Stack(host, crm_port, engagement_port, inbox_port, web_workers)
    stack = with_local_tls(stack) if https else with_https_port(stack, crm_https_port)
    raise typer.Exit(run_up(stack, console))


@app.command()
def demo(
    ctx: typer.Context,
    crm_port: UpPort = 8001,
    engagement_port: UpPort = 8002,
    inbox_port: UpPort = 2525,
    web_workers: Annotated[int, typer.Option(min=1)] = 2,
    reset: Annotated[
        bool, typer.Option(help="Against the running demo: undo the upgrade, back to legacy.")
    ] = False,
    script: Annotated[
        bool, typer.Option(help="Against the running demo: perform the whole upgrade procedure.")
    ] = False,
    crm_https_port: HttpsPort = 8443,
) -> None:
    """Run the demo: seed demo data (logins in var/demo.json), run what `tandem up` runs, and
    connect the demo account to the CRM under legacy authentication once it answers.

    Example: tandem demo --script
    """
    stack = Stack(
        crm_port=crm_port,
        engagement_port=engagement_port,
        inbox_port=inbox_port,
        web_workers=web_workers,
        salesforce_audiences=True,  # the demo is for trying Salesforce clients unmodified
    )
    path = var_dir() / "demo.json"
    if reset and script:
        raise CliError("choose one of --reset and --script")
    if reset or script:
        # Ports typed on the command line win; otherwise those demo.json recorded.
        given = {
            name
            for name in ("crm_port", "engagement_port")
            if getattr(ctx.get_parameter_source(name), "name", "") != "DEFAULT"
        }
        stack = demo_stack(stack, read_demo_json(path), given)
        ensure_running(stack)
        if not path.exists():
            raise CliError(f"{path} is missing: run the demo first (make demo)")
        if reset:
            demo_legacy_connect(stack, path, console, reset=True)
            raise typer.Exit(0)
        from tandem.cli.demo_script import run_script

        env = stack_env(stack)

        def retry_now() -> None:
            run_service("engagement", env, "connect_retry_now", "--wait", "120")

        raise typer.Exit(run_script(path, console, retry_now))
    stack = with_https_port(stack, crm_https_port)
    path = prepare_crm_demo(stack, console)
    prepare_engagement_demo(stack, console, path)
    raise typer.Exit(run_up(stack, console, lambda: demo_connect_step(stack, path, console)))


def run() -> None:
    """Entry point: configuration and usage errors become one line and exit code 2."""
    try:
        code = run_app(app, sys.argv[1:], prog="tandem")
    except EnvError as exc:
        code = error_line(str(exc))
    sys.exit(code)
