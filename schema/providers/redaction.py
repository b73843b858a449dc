"""Keep secrets sent as variables out of error messages.

graphql-core quotes the offending variable value when it rejects one, and for an unknown field
in an input object that value is the whole object: a typo next to ``apiKey`` would send the
key back in ``errors[].message`` (and into whatever logs responses). This extension replaces
every secret-looking variable value (by field name: apiKey, secret, password, token) in the
operation's error messages with ``[redacted]`` (called by schema/extensions.py).
"""

from __future__ import annotations

import re
from typing import Any

SECRET_FIELD = re.compile(r"(?i)(api_?key|secret|password|passphrase|token)$")
MIN_SECRET = 4  # shorter values would redact ordinary words


def secret_values(value: Any, *, name: str = "") -> set[str]:
    if isinstance(value, str):
        return {value} if SECRET_FIELD.search(name) and len(value) >= MIN_SECRET else set()
    if isinstance(value, dict):
        return set().union(*(secret_values(v, name=str(k)) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(secret_values(v, name=name) for v in value))
    return set()


def redact_secret_variables(errors: list[Any], variables: dict[str, Any] | None) -> None:
    """Cut secrets sent as variables out of error messages (a coercion error quotes them)."""
    if not errors or not variables:
        return
    secrets = sorted(secret_values(variables), key=len, reverse=True)
    for error in errors:
        for secret in secrets:
            if secret in error.message:
                error.message = error.message.replace(secret, "[redacted]")
