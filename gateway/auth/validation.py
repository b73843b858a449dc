"""Input checks of access changes: names, subjects, descriptions, permission keys."""

from __future__ import annotations

import re
from collections.abc import Sequence

from gateway.auth.actor import AccessFailure, AccessFailureCode
from gateway.auth.permissions import normalise
from gateway.errors import BadUserInput

ROLE_NAME = re.compile(r"[a-z][a-z0-9_-]{1,39}")
SUBJECT = re.compile(r"[A-Za-z0-9_.@:+-]{1,200}")
"""ASCII only: a look-alike (a Cyrillic a in "admin") must not pass for someone in the audit
log. Matched whole (``fullmatch``): ``$`` would let a trailing newline through."""


def check_role_name(name: str, *, field: str = "name") -> None:
    if not isinstance(name, str) or not ROLE_NAME.fullmatch(name):
        raise AccessFailure(
            AccessFailureCode.INVALID,
            "role names are 2-40 characters: lowercase letters, digits, '-' and '_', "
            "starting with a letter",
            field=field,
        )


def check_subject(subject: str) -> None:
    if not valid_subject(subject):
        raise AccessFailure(AccessFailureCode.INVALID, "invalid subject", field="subject")


def valid_subject(subject: object) -> bool:
    return isinstance(subject, str) and SUBJECT.fullmatch(subject) is not None


def check_description(text: str) -> str:
    if len(text) > 500:
        raise AccessFailure(
            AccessFailureCode.INVALID, "description is over 500 characters", field="description"
        )
    return text.strip()


def perm_keys(keys: Sequence[str]) -> frozenset[str]:
    try:
        return frozenset(normalise(keys))
    except BadUserInput as exc:
        raise AccessFailure(AccessFailureCode.INVALID, exc.message, field="permissions") from None
