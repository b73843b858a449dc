"""Who a provider belongs to, and who may see and change it (bring-your-own-key).

A provider belongs to the platform (``owner`` None) or to one subject. Everyone allowed to
read providers sees the platform's and their own; changing needs ``providers:write`` (or
``delete``/``execute``, declared on the mutations) and is limited the same way. Only an admin
sees, or acts on, another subject's providers: to anyone else they do not exist (NOT_FOUND,
never FORBIDDEN, so their existence does not leak).
"""

from __future__ import annotations

from gateway.auth.actor import Actor
from gateway.auth.permissions import is_admin
from gateway.auth.validation import valid_subject
from gateway.providers.failures import ProviderFailure, ProviderFailureCode
from gateway.providers.records import ProviderRecord


def visible(record: ProviderRecord, actor: Actor) -> bool:
    return record.owner is None or record.owner == actor.subject or is_admin(actor.permissions)


def check_owner(owner: str | None, actor: Actor) -> str | None:
    """The owner a new provider may get: the platform, the caller, or (admins) anyone."""
    if owner is None or owner == actor.subject:
        return owner
    if not is_admin(actor.permissions):
        raise ProviderFailure(
            ProviderFailureCode.FORBIDDEN,
            "only an admin may create a provider for another subject",
            field="owner",
        )
    if not valid_subject(owner):
        raise ProviderFailure(ProviderFailureCode.INVALID, "invalid subject", field="owner")
    return owner
