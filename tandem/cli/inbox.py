"""`tandem inbox`: run the local SMTP inbox, list and show what it received."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tandem.cli.errors import CliError
from tandem.cli.ports import ensure_free
from tandem.cli.style import JsonOption, emit
from tandem.core.paths import var_dir
from tandem.inbox.maildir import list_messages, read_message
from tandem.inbox.server import start_inbox

app = typer.Typer(
    help="The local SMTP inbox (a Maildir under var/mail): run it, or list and show messages.\n\n"
    "Example: tandem inbox --port 2525"
)
console = Console(highlight=False)

MaildirOption = Annotated[
    Path | None, typer.Option("--maildir", help="Maildir to use (default: var/mail).")
]


def _maildir(path: Path | None) -> Path:
    return path if path is not None else var_dir() / "mail"


@app.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="SMTP port.", min=1, max=65535)] = 2525,
    maildir: MaildirOption = None,
) -> None:
    """Run the SMTP server; print one line per message received.

    Example: tandem inbox --port 2525
    """
    if ctx.invoked_subcommand is not None:
        return
    ensure_free(host, port, "SMTP inbox", "--port")
    path = _maildir(maildir)
    controller = start_inbox(path, host, port, announce=lambda line: print(line, flush=True))
    print(f"Inbox listening on smtp://{host}:{port}, storing messages in {path}", flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()


@app.command("list")
def list_command(maildir: MaildirOption = None, as_json: JsonOption = False) -> None:
    """List received messages, oldest first.

    Example: tandem inbox list --json
    """
    rows = [
        {
            "number": item.number,
            "received": datetime.fromtimestamp(item.received, UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "from": item.sender,
            "to": item.recipients,
            "subject": item.subject,
        }
        for item in list_messages(_maildir(maildir))
    ]
    if as_json:
        emit({"messages": rows}, as_json=True)
        return
    table = Table("#", "received (UTC)", "from", "to", "subject")
    for row in rows:
        table.add_row(*(str(row[key]) for key in ("number", "received", "from", "to", "subject")))
    console.print(table)


@app.command("show")
def show_command(
    number: Annotated[int, typer.Argument(help="Message number from `tandem inbox list`.")],
    maildir: MaildirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print one message in full (with --json: its number and raw text).

    Example: tandem inbox show 3
    """
    messages = list_messages(_maildir(maildir))
    if not 1 <= number <= len(messages):
        raise CliError(f"there is no message {number}; the inbox holds {len(messages)}")
    raw = read_message(_maildir(maildir), messages[number - 1].key)
    text = raw.decode("utf-8", "replace")
    if as_json:
        emit({"number": number, "message": text}, as_json=True)
    else:
        print(text)
