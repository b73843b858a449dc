"""Lago's HTTP conventions for the sandbox: error bodies, ``page``/``per_page`` and ``meta``."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


def error(status: int, code: str | None = None, **extra: Any) -> JSONResponse:
    titles = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
              422: "Unprocessable entity"}  # fmt: skip
    body: dict[str, Any] = {"status": status, "error": titles.get(status, "Error")}
    if code is not None:
        body["code"] = code
    return JSONResponse({**body, **extra}, status_code=status)


def invalid(details: dict[str, Any]) -> JSONResponse:
    return error(422, "validation_errors", error_details=details)


def number(request: Request, name: str, default: int) -> int:
    try:
        value = int(request.query_params.get(name, default))
    except ValueError:
        return default  # Lago's to_i: garbage becomes the default page
    return value if value >= 1 else default


def paginate(request: Request, key: str, items: list[Any]) -> JSONResponse:
    page = number(request, "page", 1)
    per_page = min(number(request, "per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
    total = len(items)
    pages = math.ceil(total / per_page)
    meta = {
        "current_page": page,
        "next_page": page + 1 if page < pages else None,
        "prev_page": page - 1 if page > 1 else None,
        "total_pages": pages,
        "total_count": total,
    }
    return JSONResponse({key: items[(page - 1) * per_page : page * per_page], "meta": meta})


async def json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        return None
