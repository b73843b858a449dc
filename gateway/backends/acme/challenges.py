"""Publishing ACME challenge answers: HTTP-01 through the Store, DNS-01 through a hook.

HTTP-01 answers live in the Store's TTL entries, so whichever replica the CA reaches serves
``/.well-known/acme-challenge/{token}``. DNS-01 needs a TXT record at the DNS provider: that
is a :class:`DnsHook`; :class:`CommandDnsHook` runs an operator's command (lego/acme.sh
style hooks), nothing provider-specific lives in the gateway.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from gateway.store.base import Store

TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
"""ACME tokens are base64url (RFC 8555 §8.3); anything else is not ours to look up."""
PREFIX = "acme-challenge:"


class Http01Tokens:
    def __init__(self, *, store: Store, ttl: float = 900.0) -> None:
        self.store = store
        self.ttl = ttl

    async def present(self, token: str, key_authorization: str) -> None:
        await self.store.set_ttl(PREFIX + token, {"keyAuthorization": key_authorization}, self.ttl)

    async def cleanup(self, token: str) -> None:
        await self.store.delete_ttl(PREFIX + token)

    async def answer(self, token: str) -> str | None:
        if not TOKEN.match(token):
            return None
        entry = await self.store.get_ttl(PREFIX + token)
        return str(entry["keyAuthorization"]) if entry else None


@runtime_checkable
class DnsHook(Protocol):
    """Creates and removes the ``_acme-challenge`` TXT record for a DNS-01 challenge."""

    async def present(self, *, domain: str, record: str, value: str) -> None: ...

    async def cleanup(self, *, domain: str, record: str, value: str) -> None: ...


class DnsHookError(Exception):
    pass


class CommandDnsHook:
    """Runs ``<command> present|cleanup <record> <value> <domain>``.

    The same values are in the environment (``ACME_DNS_ACTION``, ``ACME_DNS_RECORD``,
    ``ACME_DNS_VALUE``, ``ACME_DNS_DOMAIN``). A non-zero exit fails the challenge. The
    command is split with shlex and run without a shell.
    """

    def __init__(self, *, command: str | Sequence[str], timeout: float = 120.0) -> None:
        self.argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not self.argv:
            raise ValueError("empty DNS hook command")
        self.timeout = timeout

    async def present(self, *, domain: str, record: str, value: str) -> None:
        await self._run("present", domain, record, value)

    async def cleanup(self, *, domain: str, record: str, value: str) -> None:
        await self._run("cleanup", domain, record, value)

    async def _run(self, action: str, domain: str, record: str, value: str) -> None:
        env = {
            **os.environ,
            "ACME_DNS_ACTION": action,
            "ACME_DNS_RECORD": record,
            "ACME_DNS_VALUE": value,
            "ACME_DNS_DOMAIN": domain,
        }
        process = await asyncio.create_subprocess_exec(
            *self.argv,
            action,
            record,
            value,
            domain,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            async with asyncio.timeout(self.timeout):
                output, _ = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            raise DnsHookError(f"DNS hook {action} timed out after {self.timeout:g}s") from None
        if process.returncode != 0:
            tail = output.decode(errors="replace").strip().splitlines()[-1:] or [""]
            raise DnsHookError(f"DNS hook {action} exited {process.returncode}: {tail[0][:160]}")
