"""SOAP 1.1 faults in Salesforce's words: `sf:<CODE>` faults with their `detail`, and the
envelope's own `soapenv:Client` and `soapenv:VersionMismatch` faults."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from tandem.crm.users.models import LoginStatus

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
INVALID_LOGIN_MESSAGE = "Invalid username, password, security token; or user locked out."
TOKEN_MESSAGE = (
    f"{INVALID_LOGIN_MESSAGE} Are you at a new location? Outside your org's trusted networks, "
    "add your security token to the end of your password to log in."
)


@dataclass(frozen=True)
class SoapFault:
    """A fault to answer with. `code` is Salesforce's exception code (`sf:` faults, HTTP 500,
    as Salesforce answers them) or, with `client`, the envelope-level fault code (`Client`,
    `VersionMismatch`) for a request that is not a well-formed login call (HTTP 400)."""

    code: str
    message: str
    client: bool = False
    fault_type: str = "UnexpectedErrorFault"
    status: int = 500

    @property
    def http_status(self) -> int:
        return 400 if self.client and self.status == 500 else self.status

    def render(self, fault_namespace: str) -> str:
        """The whole response envelope."""
        if self.client:
            code, detail = f"soapenv:{self.code}", ""
        else:
            code, detail = f"sf:{self.code}", self._detail()
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:sf="{fault_namespace}" '
            f'xmlns:xsi="{XSI}"><soapenv:Body><soapenv:Fault><faultcode>{code}</faultcode>'
            f"<faultstring>{escape(self.faultstring)}</faultstring>{detail}</soapenv:Fault>"
            "</soapenv:Body></soapenv:Envelope>"
        )

    @property
    def faultstring(self) -> str:
        return self.message if self.client else f"{self.code}: {self.message}"

    def _detail(self) -> str:
        kind = self.fault_type
        return (
            f'<detail><sf:{kind} xsi:type="sf:{kind}">'
            f"<sf:exceptionCode>{self.code}</sf:exceptionCode>"
            f"<sf:exceptionMessage>{escape(self.message)}</sf:exceptionMessage>"
            f"</sf:{kind}></detail>"
        )


class SoapFaultError(Exception):
    """Raised where a request cannot go on; the view answers with `fault`."""

    def __init__(self, fault: SoapFault) -> None:
        super().__init__(fault.faultstring)
        self.fault = fault


def client_fault(message: str, *, status: int = 400) -> SoapFault:
    """The request is not a login call we can read (malformed XML, no Body, missing field)."""
    return SoapFault("Client", message, client=True, status=status)


def login_fault(code: str, message: str = INVALID_LOGIN_MESSAGE) -> SoapFault:
    return SoapFault(code, message, fault_type="LoginFault")


INVALID_LOGIN = login_fault("INVALID_LOGIN")
# The refusal of each Login History status, once the password itself was right; everything
# else, an unknown user included, is INVALID_LOGIN so that nothing tells users apart.
LOGIN_STATUS_FAULTS = {
    LoginStatus.TOKEN_REQUIRED: login_fault("LOGIN_MUST_USE_SECURITY_TOKEN", TOKEN_MESSAGE),
    LoginStatus.LOGIN_HOURS: login_fault(
        "LOGIN_DURING_RESTRICTED_TIME", "Your profile does not allow logins at this time."
    ),
    LoginStatus.IP_RESTRICTED: login_fault(
        "LOGIN_DURING_RESTRICTED_DOMAIN", "Your profile does not allow logins from this address."
    ),
    LoginStatus.API_DISABLED: login_fault(
        "API_DISABLED_FOR_ORG", "API is not enabled for this user."
    ),
}


def fault_for_login_status(status: str) -> SoapFault:
    """The fault answering a refused login with this Login History status."""
    return LOGIN_STATUS_FAULTS.get(status, INVALID_LOGIN)


INVALID_SESSION = SoapFault(
    "INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Session expired or invalid"
)
