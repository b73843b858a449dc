"""The fault matrix's parts: backends, faults, the dashboard document, and the judgement of
one answer (see bench/chaos.py)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.chaos import Rig

TIMEOUT = 1.0
"""The gateway's backend timeout during the run (seconds)."""
MARKER = "UPSTREAM-BODY-7f3a"
"""Put in every faulty body: it must never reach the gateway's caller."""
BIG = 10 * 1024 * 1024
CODES = {"BACKEND_UNAVAILABLE", "BACKEND_TIMEOUT", "BACKEND_ERROR"}


@dataclass(frozen=True, slots=True)
class Backend:
    sandbox: str
    path: tuple[str, ...]
    """Where its fields sit in the dashboard's data."""


BACKENDS: dict[str, Backend] = {
    "lago": Backend("lago", ("revenue", "customers")),
    "hub": Backend("hub", ("models", "search")),
    "traefik": Backend("traefik", ("traffic", "routers")),
    "docker": Backend("docker", ("traffic", "discovered")),
    "brigade": Backend("brigade", ("agents", "tasks")),
}


def dashboard(args: dict[str, int]) -> str:
    """Every domain in one document; ``args`` change what each backend is asked (0: the
    baseline), so a faulted backend is asked something no cache holds."""
    a = args
    return f"""query Chaos {{
  me {{ subject }}
  access {{ roles {{ name }} }}
  usage {{ overview(days: 7) {{ requests }} }}
  revenue {{ customers(first: {3 + a["lago"]}) {{ nodes {{ externalId name }} }} }}
  models {{ search(query: "llama", limit: {2 + a["hub"]}) {{ id downloads }} }}
  traffic {{
    routers(first: {3 + a["traefik"]}) {{ nodes {{ name rule }} }}
    discovered(first: {2 + a["docker"]}) {{ nodes {{ name image }} }}
  }}
  agents {{ tasks(first: 3{_agent(a["brigade"])}) {{ totalCount nodes {{ id status }} }} }}
}}"""


def _agent(n: int) -> str:
    # Brigade pages are fetched whole and cached per parameters: a new agent id is a new call.
    return f', agentId: "chaos-{n}"' if n else ""


Inject = Callable[["Rig", str], Callable[[], None]]


def _fault(method: str, *args: Any, **kwargs: Any) -> Inject:
    def inject(rig: Rig, backend: str) -> Callable[[], None]:
        getattr(rig.sandbox(backend), method)("*", *args, **kwargs)
        return lambda: None

    return inject


def _refused(rig: Rig, backend: str) -> Callable[[], None]:
    return rig.refuse(backend)


_HTML = f"<html><body><h1>502 Bad Gateway</h1>{MARKER}</body></html>"
_WRONG = {"data": MARKER, "items": 7, "meta": "none", "unexpected": [1, "two", None]}
FAULTS: dict[str, Inject] = {
    "connection refused": _refused,
    "hang past the timeout": _fault("hang"),
    "slow, just under the timeout": _fault("slow", TIMEOUT * 0.7),
    "500": _fault("fail", status=500, body={"error": MARKER}),
    "502 with an HTML body": _fault(
        "fail", status=502, body=_HTML, headers={"content-type": "text/html"}
    ),
    "401": _fault("fail", status=401, body={"error": MARKER}),
    "403": _fault("fail", status=403, body={"error": MARKER}),
    "429 with Retry-After": _fault(
        "fail", status=429, body={"error": MARKER}, headers={"Retry-After": "1"}
    ),
    "malformed JSON": _fault("malformed"),
    "truncated body": _fault("truncated"),
    "JSON of the wrong shape": _fault("fail", status=200, body=_WRONG),
    "10 MB body": _fault(
        "fail",
        status=200,
        body=b'{"padding": "' + b"x" * BIG + b'"}',
        headers={"content-type": "application/json"},
    ),
}


@dataclass(slots=True)
class CellResult:
    backend: str
    fault: str
    status: int
    codes: list[str]
    seconds: float
    others_intact: bool
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def cell(self) -> str:
        code = "/".join(dict.fromkeys(self.codes)) or "data"
        text = f"{code}, {self.seconds:.2f} s, {'yes' if self.others_intact else 'NO'}"
        return text if self.ok else f"**{text}**"

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        extra = f"  {'; '.join(self.problems)}" if self.problems else ""
        return f"{mark} {self.backend:<8} {self.fault:<30} {self.cell()}{extra}"


@dataclass(slots=True)
class BreakerResult:
    backend: str
    opened_after: int | None
    fails_fast: bool
    recovered_in: float

    @property
    def ok(self) -> bool:
        return self.opened_after is not None and self.fails_fast

    def row(self) -> str:
        opened = "never" if self.opened_after is None else str(self.opened_after)
        fast = "yes (no call went out)" if self.fails_fast else "NO"
        return f"| {self.backend} | {opened} | {fast} | {self.recovered_in:.1f} s |"

    def line(self) -> str:
        return f"breaker {self.backend:<8} {self.row()}"


def _blank(data: Any, path: tuple[str | int, ...]) -> Any:
    """``data`` with the value at ``path`` replaced by None (a copy)."""
    if not path or not isinstance(data, dict | list):
        return None
    copy = json.loads(json.dumps(data))
    node = copy
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return copy
    if isinstance(node, dict | list):
        with contextlib.suppress(IndexError, TypeError):
            node[path[-1]] = None  # type: ignore[index]
    return copy


def _at(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def answer_problems(status: int, text: str) -> list[str]:
    """What no answer may show, whatever failed behind it."""
    problems = []
    if status != 200:
        problems.append(f"HTTP {status}")
    if "Traceback" in text or 'File "' in text:
        problems.append("a traceback in the response")
    if MARKER in text:
        problems.append("the upstream body reached the caller")
    return problems


def judge(
    backend: str,
    fault: str,
    status: int,
    body: dict[str, Any],
    text: str,
    seconds: float,
    baseline: dict[str, Any],
    *,
    slow: bool,
) -> CellResult:
    """What the cell shows, and which expectations it broke."""
    errors = body.get("errors") or []
    data = body.get("data")
    codes = [str(e.get("extensions", {}).get("code")) for e in errors]
    problems = answer_problems(status, text)
    if seconds > TIMEOUT * 1.5 + 0.5:
        problems.append(f"{seconds:.2f} s: more than the timeout")
    own = BACKENDS[backend].path
    intact = isinstance(data, dict) and _blank(data, own) == _blank(baseline, own)
    if not intact:
        problems.append("other domains differ from the fault-free answer")
    if slow:  # slow but in time: a full answer, no errors
        if errors:
            problems.append(f"errors while the backend answered in time: {codes}")
        if _at(data, own) is None:
            problems.append("no data from the backend that answered in time")
        return CellResult(backend, fault, status, codes, seconds, intact, problems)
    if not errors:
        problems.append("no error for the faulted backend")
    for error in errors:
        ext = error.get("extensions", {})
        if ext.get("code") not in CODES:
            problems.append(f"code {ext.get('code')}")
        if ext.get("backend") != backend:
            problems.append(f"extensions.backend {ext.get('backend')!r}")
        if tuple(error.get("path", ())[: len(own)]) != own:
            problems.append(f"error at {error.get('path')}")
    if _at(data, own) is not None:
        problems.append("the faulted field is not null")
    return CellResult(backend, fault, status, codes, seconds, intact, problems)
