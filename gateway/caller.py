"""The caller of an HTTP request: authenticated, within its address's failure budget and its
subject's rate limit, with its roles and permissions resolved (for /graphql and the REST
routes alike)."""

from __future__ import annotations

from starlette.requests import Request

from gateway.context import Context
from gateway.errors import RateLimited, Unauthenticated
from gateway.requestlog import current_request
from gateway.services import Services
from gateway.sockets import client_address


async def sign_in(services: Services, request: Request) -> Context:
    """The caller's context for an HTTP request: authenticated (401; 429 once its address
    has failed too often), within the rate limit of its subject (429), with its roles and
    permissions resolved."""
    authorization = request.headers.get("authorization")
    address = client_address(request)
    wait = services.lockout.refused_for(address)
    if wait is not None:
        await services.penalty.serve(address)
        raise RateLimited("too many failed authentications; retry later", retry_after=wait)
    try:
        signed = await services.signin.sign_in(authorization)
    except Unauthenticated:
        # A request with no credential at all guesses nothing; only wrong ones count.
        if authorization and (wait := await services.lockout.failed(address)) is not None:
            await services.penalty.serve(address)
            raise RateLimited(
                "too many failed authentications; retry later", retry_after=wait
            ) from None
        raise
    principal = signed.principal
    if (info := current_request.get()) is not None:
        info.subject = principal.subject
    retry_after = await services.rate_limiter.hit(principal.subject)
    if retry_after is not None:
        await services.penalty.serve(principal.subject)
        raise RateLimited("rate limit exceeded; slow down", retry_after=retry_after)
    return Context(
        services=services,
        request=request,
        principal=principal,
        roles=signed.roles,
        permissions=signed.permissions,
    )
