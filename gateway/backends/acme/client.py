"""AcmeClient: one certificate order, RFC 8555, with certbot's ``acme`` library.

The library is synchronous (requests), so each blocking step runs in a worker thread; the
challenge answers are published between those steps on the event loop (Store, DNS hook).
Failures become gateway errors here, in one place: an unreachable CA is
``BACKEND_UNAVAILABLE``, a CA refusal ``BACKEND_ERROR`` with the CA's problem detail.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import josepy
import requests
from acme import challenges, crypto_util, errors, messages
from acme import client as acme_client
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.backends.acme.challenges import DnsHook, DnsHookError, Http01Tokens
from gateway.backends.base import CallObserver
from gateway.backends.observer import Outcome, notify, outcome_of
from gateway.errors import BackendError, BackendTimeout, BackendUnavailable, NotConfigured
from gateway.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
ChallengeKind = Literal["http-01", "dns-01"]


@dataclass(frozen=True, slots=True)
class Issued:
    fullchain_pem: bytes
    key_pem: bytes


@dataclass(slots=True)
class _Pending:
    client: acme_client.ClientV2
    order: messages.OrderResource
    key_pem: bytes
    answers: list[tuple[str, messages.ChallengeBody, Any, str]]
    """(domain, challenge, response, validation) for each authorization still pending."""


def new_account_key_pem() -> bytes:
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def new_certificate_key_pem() -> bytes:
    return _pem(ec.generate_private_key(ec.SECP256R1()))


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class AcmeClient:
    def __init__(
        self,
        *,
        directory_url: str | None,
        email: str | None = None,
        ca_bundle: str | None = None,
        timeout: float = 10.0,
        order_timeout: float = 90.0,
        observer: CallObserver | None = None,
    ) -> None:
        self.name = "acme"
        self.directory_url = directory_url
        self.email = email
        self.verify: bool | str = ca_bundle or True
        self.timeout = timeout
        self.order_timeout = order_timeout
        self.observer = observer
        self.calls = 0

    @classmethod
    def from_settings(
        cls, settings: Settings, *, observer: CallObserver | None = None
    ) -> AcmeClient:
        return cls(
            directory_url=settings.acme_directory_url,
            email=settings.acme_email,
            ca_bundle=settings.acme_ca_bundle,
            timeout=settings.backend_timeout,
            observer=observer,
        )

    @property
    def configured(self) -> bool:
        return self.directory_url is not None

    async def aclose(self) -> None:
        """Nothing pooled across orders: each order has its own requests session."""

    async def issue(
        self,
        domains: list[str],
        *,
        account_key_pem: bytes,
        kind: ChallengeKind = "http-01",
        http01: Http01Tokens | None = None,
        dns: DnsHook | None = None,
    ) -> Issued:
        """Order, prove control of every domain, finalize: the new chain and its key."""
        if self.directory_url is None:
            raise NotConfigured(self.name, "ACME_DIRECTORY_URL")
        if kind == "dns-01" and dns is None:
            raise BackendError("DNS-01 needs a DNS hook (ACME_DNS_HOOK)", backend=self.name)
        if kind == "http-01" and http01 is None:
            raise BackendError("HTTP-01 needs the challenge store", backend=self.name)
        started = time.perf_counter()
        outcome: Outcome = "error"
        self.calls += 1
        try:
            pending = await self._blocking(self._begin, domains, account_key_pem, kind)
            published: list[Callable[[], Awaitable[None]]] = []
            try:
                for domain, challb, _response, validation in pending.answers:
                    if kind == "http-01":
                        token = challb.chall.encode("token")
                        await http01.present(token, validation)  # type: ignore[union-attr]
                        published.append(lambda t=token: http01.cleanup(t))  # type: ignore[misc,union-attr]
                    else:
                        record = challb.chall.validation_domain_name(domain.removeprefix("*."))
                        await dns.present(domain=domain, record=record, value=validation)  # type: ignore[union-attr]
                        published.append(
                            lambda d=domain, r=record, v=validation: dns.cleanup(  # type: ignore[misc,union-attr]
                                domain=d, record=r, value=v
                            )
                        )
                chain = await self._blocking(self._finish, pending)
            except DnsHookError as exc:
                raise BackendError(f"acme: {exc}", backend=self.name) from None
            finally:
                for undo in published:
                    try:
                        await undo()
                    except Exception:  # a leftover TXT record or token expires; log it
                        log.warning("acme challenge cleanup failed", exc_info=True)
            outcome = "ok"
            return Issued(fullchain_pem=chain.encode(), key_pem=pending.key_pem)
        except BackendError as exc:
            outcome = outcome_of(exc)
            raise
        finally:
            notify(self.observer, self.name, "order", outcome, time.perf_counter() - started)

    # -- blocking steps (worker threads) ---------------------------------------------------
    def _begin(self, domains: list[str], account_key_pem: bytes, kind: ChallengeKind) -> _Pending:
        key = serialization.load_pem_private_key(account_key_pem, password=None)
        net = acme_client.ClientNetwork(
            josepy.JWKRSA(key=key),  # type: ignore[arg-type]
            verify_ssl=self.verify,  # type: ignore[arg-type]  # a CA bundle path works too
            user_agent="ops-gateway",
            timeout=self.timeout,  # type: ignore[arg-type]  # requests takes a float
        )
        assert self.directory_url is not None
        directory = acme_client.ClientV2.get_directory(self.directory_url, net)
        client = acme_client.ClientV2(directory, net)
        registration = messages.NewRegistration.from_data(
            email=self.email, terms_of_service_agreed=True
        )
        try:
            client.new_account(registration)
        except errors.ConflictError as exc:  # the key already has an account: use it
            net.account = messages.RegistrationResource(
                uri=exc.location, body=messages.Registration()
            )
        key_pem = new_certificate_key_pem()
        order = client.new_order(crypto_util.make_csr(key_pem, domains))
        wanted = challenges.HTTP01 if kind == "http-01" else challenges.DNS01
        answers = []
        for authz in order.authorizations:
            if authz.body.status == messages.STATUS_VALID:
                continue  # the CA still trusts an earlier proof for this name
            challb = next((c for c in authz.body.challenges if isinstance(c.chall, wanted)), None)
            if challb is None:
                raise errors.Error(
                    f"the CA offers no {kind} challenge for {authz.body.identifier.value}"
                )
            response, validation = challb.response_and_validation(net.key)
            answers.append((authz.body.identifier.value, challb, response, validation))
        return _Pending(client=client, order=order, key_pem=key_pem, answers=answers)

    def _finish(self, pending: _Pending) -> str:
        for _domain, challb, response, _validation in pending.answers:
            pending.client.answer_challenge(challb, response)
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=self.order_timeout)
        finished = pending.client.poll_and_finalize(pending.order, deadline=deadline)
        return str(finished.fullchain_pem)

    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(fn, *args)
        except requests.Timeout:
            raise BackendTimeout("acme CA timed out", backend=self.name) from None
        except requests.ConnectionError:
            raise BackendUnavailable("cannot connect to the ACME CA", backend=self.name) from None
        except errors.TimeoutError:
            raise BackendTimeout("acme order did not complete in time", backend=self.name) from None
        except errors.ValidationError as exc:
            problems = [
                str(c.error.detail or c.error.typ)
                for a in exc.failed_authzrs
                for c in a.body.challenges
                if c.error is not None
            ]
            raise BackendError(
                f"acme validation failed: {'; '.join(problems)[:200]}", backend=self.name
            ) from None
        except messages.Error as exc:
            detail = exc.detail or exc.description or exc.typ
            raise BackendError(f"acme CA refused: {str(detail)[:200]}", backend=self.name) from None
        except KeyError as exc:  # the library reads the CA's documents by key, e.g. the directory
            raise BackendError(
                f"acme: the CA's answer lacks {str(exc)[:120]}", backend=self.name
            ) from None
        except (errors.Error, ValueError, requests.RequestException, josepy.errors.Error) as exc:
            raise BackendError(
                f"acme failed: {type(exc).__name__}: {str(exc)[:160]}", backend=self.name
            ) from None
