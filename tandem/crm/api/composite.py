"""The composite family: `composite` (with references and allOrNone), `composite/batch` and
`composite/tree`. Subrequests run through the same views as direct calls (`dispatch`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from tandem.crm.api.auth import ApiPrincipal
from tandem.crm.api.dispatch import METHODS, SubResult, dispatch
from tandem.crm.api.errors import ApiError

MAX_SUBREQUESTS = 25
REFERENCE_ID = re.compile(r"[A-Za-z0-9_]{1,80}")
# `@{ref.field}`, `@{ref.records[0].Id}`, `@{ref.compositeResponse[1].body.id}`.
REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[[0-9]+\])+)\}")
PATH_STEP = re.compile(r"\.([A-Za-z0-9_]+)|\[([0-9]+)\]")
ROLLED_BACK = (
    "The transaction was rolled back since another operation in the same transaction failed."
)
BATCH_HALTED = {
    "errorCode": "BATCH_PROCESSING_HALTED",
    "message": "Batch processing halted per request",
}


def _invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_API_INPUT", message)


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ApiError(400, "JSON_PARSER_ERROR", f"Cannot deserialize {name}: not a boolean")
    return value


@dataclass(frozen=True)
class Subrequest:
    method: str
    url: str
    reference_id: str
    body: Any
    headers: dict[str, str]


def _subrequest(item: Any) -> Subrequest:
    if not isinstance(item, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "Each subrequest must be a JSON object")
    method, url, ref = item.get("method"), item.get("url"), item.get("referenceId")
    headers = item.get("httpHeaders") or {}
    if not isinstance(method, str) or not isinstance(url, str) or not isinstance(ref, str):
        raise _invalid("Each subrequest needs a method, a url and a referenceId")
    if method.upper() not in METHODS:
        raise _invalid(f"Unsupported method in subrequest: {method[:20]}")
    if not REFERENCE_ID.fullmatch(ref):
        raise _invalid(
            f"Invalid referenceId: {ref[:80]}. A referenceId holds letters, digits and _ only"
        )
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and "\x00" not in k + v
        for k, v in headers.items()
    ):
        raise _invalid("httpHeaders must map header names to strings")
    return Subrequest(method.upper(), url, ref, item.get("body"), headers)


def composite_requests(body: Any) -> tuple[list[Subrequest], bool]:
    """The subrequests and allOrNone of a composite body, or the error Salesforce answers."""
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise ApiError(400, "JSON_PARSER_ERROR", "The body must hold a compositeRequest list")
    all_or_none = _flag(body, "allOrNone")
    _flag(body, "collateSubrequests")  # subrequests always run in order, one at a time
    items = body["compositeRequest"]
    if not items:
        raise _invalid("The composite request must hold at least one subrequest")
    if len(items) > MAX_SUBREQUESTS:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",
            f"The composite request can hold at most {MAX_SUBREQUESTS} subrequests",
        )
    subrequests = [_subrequest(item) for item in items]
    seen: set[str] = set()
    for sub in subrequests:
        if sub.reference_id in seen:
            raise _invalid(f"Duplicate referenceId provided in the request: {sub.reference_id}")
        seen.add(sub.reference_id)
    return subrequests, all_or_none


# --- references ------------------------------------------------------------------------------


class _Unresolved(Exception):
    def __init__(self, reference: str, ref_id: str) -> None:
        super().__init__(reference)
        self.reference = reference
        self.ref_id = ref_id


_MISSING = object()


def _step(value: Any, name: str | None, index: str | None) -> Any:
    if name is not None and isinstance(value, dict):
        if name in value:
            return value[name]
        lowered = {k.lower(): v for k, v in value.items() if isinstance(k, str)}
        return lowered.get(name.lower(), _MISSING)
    if index is not None and isinstance(value, list) and int(index) < len(value):
        return value[int(index)]
    return _MISSING


def _lookup(match: re.Match[str], done: dict[str, SubResult]) -> Any:
    ref_id, path = match.group(1), match.group(2)
    found = done.get(ref_id)
    if found is None or found.failed:
        raise _Unresolved(match.group(0)[2:-1], ref_id)
    value = found.body
    for step in PATH_STEP.finditer(path):
        value = _step(value, step.group(1), step.group(2))
        if value is _MISSING:
            raise _Unresolved(match.group(0)[2:-1], ref_id)
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _substitute(value: Any, done: dict[str, SubResult]) -> Any:
    """`value` with every `@{ref.path}` replaced by what that earlier subrequest answered."""
    if isinstance(value, str):
        whole = REFERENCE.fullmatch(value)
        if whole:
            return _lookup(whole, done)
        return REFERENCE.sub(lambda m: _text(_lookup(m, done)), value)
    if isinstance(value, dict):
        return {k: _substitute(v, done) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, done) for v in value]
    return value


def _halted(message: str) -> SubResult:
    return SubResult(400, [{"errorCode": "PROCESSING_HALTED", "message": message}])


def _unresolved(error: _Unresolved) -> SubResult:
    return _halted(
        f"Invalid reference specified. No value for {error.reference} found in {error.ref_id}. "
        f"Provided referenceId ('{error.ref_id}') must be unique and the reference must be "
        "made after the referenced request."
    )


# --- composite -------------------------------------------------------------------------------


class _Rollback(Exception):
    pass


def _is_collection_failure(sub: Subrequest, result: SubResult) -> bool:
    """A composite/sobjects subrequest answers 200 even when some of its records failed."""
    return isinstance(result.body, list) and any(
        isinstance(r, dict) and r.get("success") is False for r in result.body
    )


def _one(
    request: HttpRequest,
    principal: ApiPrincipal,
    sub: Subrequest,
    done: dict[str, SubResult],
    all_or_none: bool,
) -> SubResult:
    try:
        url = _text(_substitute(sub.url, done))
        body = _substitute(sub.body, done)
    except _Unresolved as error:
        return _unresolved(error)
    if all_or_none and "/composite/sobjects" in url and isinstance(body, dict):
        body = {**body, "allOrNone": True}  # the outer allOrNone overrides a collection's
    result = dispatch(
        request, principal, method=sub.method, url=url, body=body, headers=sub.headers
    )
    if result.status == 201 and isinstance(result.body, dict) and "id" in result.body:
        location = f"{url.partition('?')[0].rstrip('/')}/{result.body['id']}"
        result = SubResult(result.status, result.body, {"Location": location})
    return result


def _entry(sub: Subrequest, result: SubResult) -> dict[str, Any]:
    return {
        "body": result.body,
        "httpHeaders": result.headers,
        "httpStatusCode": result.status,
        "referenceId": sub.reference_id,
    }


def composite_run(
    request: HttpRequest,
    principal: ApiPrincipal,
    subrequests: list[Subrequest],
    *,
    all_or_none: bool,
) -> dict[str, Any]:
    """Run the subrequests in order; with allOrNone, the first failure undoes them all."""
    done: dict[str, SubResult] = {}
    results: list[SubResult] = []
    try:
        with transaction.atomic():
            for sub in subrequests:
                result = _one(request, principal, sub, done, all_or_none)
                results.append(result)
                done[sub.reference_id] = result
                if all_or_none and (result.failed or _is_collection_failure(sub, result)):
                    raise _Rollback
    except _Rollback:
        failed = len(results) - 1
        results = [
            results[i] if i == failed else _halted(ROLLED_BACK) for i in range(len(subrequests))
        ]
    return {"compositeResponse": [_entry(s, r) for s, r in zip(subrequests, results, strict=True)]}


# --- composite/batch -------------------------------------------------------------------------


def _batch_url(version: str, item: dict[str, Any]) -> str:
    url = item.get("url")
    if not isinstance(url, str) or not url:
        raise _invalid("Each batch subrequest needs a url")
    if url.startswith("/services/data/"):
        return url
    return "/services/data/" + url.lstrip("/")


def batch_requests(body: Any) -> tuple[list[dict[str, Any]], bool]:
    """The subrequests and haltOnError of a composite/batch body."""
    if not isinstance(body, dict) or not isinstance(body.get("batchRequests"), list):
        raise ApiError(400, "JSON_PARSER_ERROR", "The body must hold a batchRequests list")
    items = body["batchRequests"]
    if not items or len(items) > MAX_SUBREQUESTS:
        raise ApiError(
            400, "LIMIT_EXCEEDED", f"A batch holds from 1 to {MAX_SUBREQUESTS} subrequests"
        )
    for item in items:
        method = item.get("method") if isinstance(item, dict) else None
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise _invalid("Each batch subrequest needs a method (GET, POST, PATCH, PUT, DELETE)")
    return items, _flag(body, "haltOnError")


def batch_run(
    request: HttpRequest,
    principal: ApiPrincipal,
    version: str,
    items: list[dict[str, Any]],
    *,
    halt_on_error: bool,
) -> dict[str, Any]:
    """Run each subrequest on its own (no rollback across them); stop at a failure if asked."""
    results: list[dict[str, Any]] = []
    halted = False
    for item in items:
        if halted:
            results.append({"statusCode": 412, "result": [BATCH_HALTED]})
            continue
        result = dispatch(
            request,
            principal,
            method=item["method"].upper(),
            url=_batch_url(version, item),
            body=item.get("richInput"),
        )
        results.append({"statusCode": result.status, "result": result.body})
        halted = halt_on_error and result.failed
    has_errors = any(r["statusCode"] >= 400 for r in results)
    return {"hasErrors": has_errors, "results": results}
