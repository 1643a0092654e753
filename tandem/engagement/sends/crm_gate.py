"""The seam through which sends ask about audiences in the CRM. Marketing Cloud Connect owns the
answers and registers itself here when its app is ready, so sends never import Connect (an
import contract holds it): without Connect, no account may send to the CRM."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tandem.engagement.sends.models import Send

NOT_CONFIGURED = (
    "Sends to CRM audiences need Marketing Cloud Connect, which is not set up for this account"
)


class CrmGate(Protocol):
    def connected(self, account_id: int) -> bool:
        """Whether the account has a CRM connection at all."""

    def admission(self, account_id: int, send: Send) -> tuple[str, str]:
        """("admit" | "refuse" | "hold" | "wait", reason) for a send whose audience is in
        the CRM."""


class _NoCrm:
    def connected(self, account_id: int) -> bool:
        return False

    def admission(self, account_id: int, send: Send) -> tuple[str, str]:
        return "refuse", NOT_CONFIGURED


_gate: CrmGate = _NoCrm()


def crm_gate_register(gate: CrmGate) -> None:
    """Called once by Connect's AppConfig.ready."""
    global _gate
    _gate = gate


def crm_gate() -> CrmGate:
    return _gate
