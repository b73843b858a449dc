"""The sandbox registry: one small entry per fake backend (see :mod:`gateway.sandbox.suite`).

An entry names the module, the no-argument factory and the Settings overrides the served
sandbox provides. Adding a backend's sandbox to ``--sandbox`` is adding one entry here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.services import Services

# (sandbox app, its base URL, the suite's private folder) -> Settings field overrides
SettingsFn = Callable[[Any, str, Path], Mapping[str, object]]
# the sandbox's private folder -> keyword arguments for its factory
OptionsFn = Callable[[Path], Mapping[str, Any]]
# (sandbox app, its base URL, the started gateway's Services) -> records seeded in the store
SeedFn = Callable[[Any, str, "Services"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SandboxEntry:
    name: str
    module: str
    settings: SettingsFn
    factory: str = "create_app"
    """A callable of ``module`` that builds the ASGI app with no arguments."""
    options: OptionsFn | None = None
    """Keyword arguments for the factory, from the sandbox's private folder (optional)."""
    seed: SeedFn | None = None
    """Records the sandbox needs in the gateway's own store (providers), run at startup."""
    description: str = ""


def _own(app: Any, url: str, home: Path) -> Mapping[str, object]:
    """For sandboxes that know their settings themselves (``app.settings_for(url)``)."""
    return app.settings_for(url)


# Small repos of the fake Hub downloaded into the demo's cache, so "local" models exist.
HUB_LOCAL = ("acme/mini-bert", "acme/tiny-llama-1b-GGUF", "acme/embed-small")


def _hub(app: Any, url: str, home: Path) -> Mapping[str, object]:
    from huggingface_hub import snapshot_download
    from tqdm.auto import tqdm

    class Quiet(tqdm):  # type: ignore[misc]  # no progress bars on the demo's console
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **{**kwargs, "disable": True})

    cache = home / "cache"
    for repo in HUB_LOCAL:  # a few hundred kB from the sandbox itself, in well under a second
        snapshot_download(repo, endpoint=url, token=app.token, cache_dir=cache, tqdm_class=Quiet)
    # A write token with gated access, and the demo's own cache.
    return {"hf_endpoint": url, "hf_token": app.token, "hf_hub_cache": str(cache)}


def _brigade(app: Any, url: str, home: Path) -> Mapping[str, object]:
    return {"brigade_api_url": url, "brigade_api_key": app.api_key}


def _traefik_options(home: Path) -> Mapping[str, Any]:
    (home / "dynamic").mkdir(exist_ok=True)
    return {"dynamic_dir": home / "dynamic"}


def _traefik(app: Any, url: str, home: Path) -> Mapping[str, object]:
    from gateway.sandbox.acme_seed import write_acme_json

    # The gateway writes file-provider configs where the fake Traefik watches, as in production.
    return {
        "traefik_api_url": url,
        "traefik_dynamic_dir": str(home / "dynamic"),
        "traefik_acme_json": str(write_acme_json(home / "acme.json")),
    }


def _providers(app: Any, url: str, home: Path) -> Mapping[str, object]:
    # The SSRF guard refuses loopback addresses unless allowed; the sandbox lives there.
    return {"provider_allow_hosts": ("127.0.0.1",)}


async def _seed_llm(app: Any, url: str, services: Services) -> None:
    """Provider records for the fakes, and two weeks of LLM usage through real ingestion."""
    from gateway.sandbox.usage_seed import seed_usage

    await _seed_providers(app, url, services)
    await seed_usage(services)


async def _seed_providers(app: Any, url: str, services: Services) -> None:
    """One enabled provider per kind, pointing at the fake, with the fake's key."""
    from gateway.auth.actor import Actor
    from gateway.backends.providers.kinds import KINDS

    admin = services.providers
    existing = {record.name for record in await admin.all()}
    actor = Actor(subject="sandbox", permissions=frozenset())
    for kind, key in app.keys.items():
        name = f"{KINDS[kind].label} (sandbox)"
        if name not in existing:
            base_url = app.base_url(url, kind)
            await admin.create(actor, name=name, kind=kind, base_url=base_url, api_key=key)


ENTRIES: tuple[SandboxEntry, ...] = (
    SandboxEntry(
        "lago",
        "gateway.sandbox.lago",
        _own,
        description="billing: customers, plans, subscriptions, invoices, analytics",
    ),
    SandboxEntry(
        "hub",
        "gateway.sandbox.hub",
        _hub,
        description="Hugging Face Hub: model repos, files, downloads, uploads",
    ),
    SandboxEntry(
        "brigade",
        "gateway.sandbox.brigade",
        _brigade,
        description="agents: 12 agents, 240 tasks",
    ),
    SandboxEntry(
        "traefik",
        "gateway.sandbox.traefik",
        _traefik,
        options=_traefik_options,
        description="routers, services, middlewares, /metrics; watches the dynamic dir",
    ),
    SandboxEntry(
        "docker",
        "gateway.sandbox.docker",
        _own,
        description="Docker Engine API: containers labelled for Traefik",
    ),
    SandboxEntry(
        "providers",
        "gateway.sandbox.providers",
        _providers,
        seed=_seed_llm,
        description="LLM providers of every kind, seeded as provider records, and usage",
    ),
)
