"""Requests refused before Django reads them (`tandem.core.wsgi`), answered in the dialect of
the CRM surface they were addressed to: an OAuth error pair, a SOAP fault, Salesforce's REST
error list, or plain text for the pages."""

from __future__ import annotations

import json
import re
from xml.sax.saxutils import escape

from django.conf import settings

from tandem.core.wsgi import plain_refusal
from tandem.crm.oauth.views.token import MAX_BODY_BYTES

OAUTH_PREFIX = "/services/oauth2/"
SOAP_PREFIX = "/services/soap/"
REST_PREFIX = "/services/"
BULK_UPLOAD = re.compile(r"^/+services/data/v\d+\.\d+/jobs/ingest/[A-Za-z0-9]+/batches/?$")
# Ingest job creation, which may carry the job's CSV (multipart/form-data).
BULK_CREATE = re.compile(r"^/+services/data/v\d+\.\d+/jobs/ingest/?$")
MULTIPART_FRAMING = 1024 * 1024
SOAP_FAULT = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    "<soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode>"
    "<faultstring>{message}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
)


def is_bulk_upload(path: str) -> bool:
    """A Bulk API 2.0 job data upload (`…/jobs/ingest/<id>/batches`, or the job's creation,
    which may carry its data in a multipart body)."""
    return BULK_UPLOAD.match(path) is not None or BULK_CREATE.match(path) is not None


def crm_body_limit(path: str) -> int:
    """The largest chunked body accepted on `path`: the token endpoint's own cap on the OAuth
    endpoints, the Bulk upload cap on a job's data, Django's request body cap elsewhere."""
    if path.startswith(OAUTH_PREFIX):
        return MAX_BODY_BYTES
    if BULK_CREATE.match(path):
        return int(settings.CRM_BULK_UPLOAD_MAX_BYTES) + MULTIPART_FRAMING
    if is_bulk_upload(path):
        return int(settings.CRM_BULK_UPLOAD_MAX_BYTES)
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440)


def crm_refusal(path: str, status: int, message: str) -> tuple[int, str, bytes]:
    """(status, Content-Type, body) refusing a request to `path` with `message`."""
    if path.startswith(OAUTH_PREFIX):
        pair = {"error": "invalid_request", "error_description": message}
        return 400, "application/json", json.dumps(pair).encode()  # always 400 (RFC 6749 §5.2)
    if path.lower().startswith(SOAP_PREFIX):
        return 400, "text/xml; charset=utf-8", SOAP_FAULT.format(message=escape(message)).encode()
    if is_bulk_upload(path):
        error = [{"message": f"InvalidBatch : {message}", "errorCode": "InvalidBatch"}]
        return status, "application/json", json.dumps(error).encode()
    if path.startswith(REST_PREFIX):
        error = [{"message": message, "errorCode": "JSON_PARSER_ERROR"}]
        return status, "application/json", json.dumps(error).encode()
    return plain_refusal(path, status, message)
