"""Random actors run random access changes through /graphql; after every step the gateway
must agree with an independent model of the rule (tests/security/access_model.py), and no
principal may have gained a permission the actor does not hold (issue 10, point 4).

``make test`` runs a couple of hundred sequences; ``HYPOTHESIS_PROFILE=fuzz`` (``make fuzz``)
many more.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from gateway.app import create_app
from gateway.settings import Limits
from tests.plugins.app import make_settings
from tests.security.access_model import AccessModel, Denied, ModelToken

SUBJECTS = ["root", "mod", "dev", "ana", "view", "opsy", "ops-lead", "carol"]
CUSTOM = ["r1", "r2", "r3"]
INTERESTING = [
    "access:read", "access:write", "access:execute", "access:delete", "system:write",
    "models:read", "models:delete", "services:write", "revenue:read", "usage:write",
]  # fmt: skip
PERMS = st.lists(st.sampled_from(INTERESTING), min_size=1, max_size=3, unique=True)
EXAMPLES = {"default": 150, "fuzz": 3000}[os.environ.get("HYPOTHESIS_PROFILE", "default")]
STEPS = {"default": 10, "fuzz": 30}[os.environ.get("HYPOTHESIS_PROFILE", "default")]
OUTCOME = "__typename ... on AccessError { code }"


def _perm_input(keys: list[str]) -> list[dict[str, str]]:
    return [{"resource": k.split(":")[0].upper(), "action": k.split(":")[1].upper()} for k in keys]


MUTATIONS: dict[str, tuple[str, Any]] = {
    "createRole": (
        "mutation($n: String!, $p: [PermissionInput!]!, $i: [String!]!) "
        f"{{ r: createRole(input: {{name: $n, permissions: $p, inherits: $i}}) {{ {OUTCOME} }} }}",
        lambda a: {"n": a["name"], "p": _perm_input(a["perms"]), "i": a["parents"]},
    ),
    "updateRole": (
        "mutation($n: String!, $i: [String!]!) "
        f"{{ r: updateRole(input: {{name: $n, inherits: $i}}) {{ {OUTCOME} }} }}",
        lambda a: {"n": a["name"], "i": a["parents"]},
    ),
    "deleteRole": (
        f"mutation($n: String!) {{ r: deleteRole(name: $n) {{ {OUTCOME} }} }}",
        lambda a: {"n": a["name"]},
    ),
    "grantPermissions": (
        "mutation($n: String!, $p: [PermissionInput!]!) "
        f"{{ r: grantPermissions(role: $n, permissions: $p) {{ {OUTCOME} }} }}",
        lambda a: {"n": a["name"], "p": _perm_input(a["perms"])},
    ),
    "revokePermissions": (
        "mutation($n: String!, $p: [PermissionInput!]!) "
        f"{{ r: revokePermissions(role: $n, permissions: $p) {{ {OUTCOME} }} }}",
        lambda a: {"n": a["name"], "p": _perm_input(a["perms"])},
    ),
    "assignRole": (
        f"mutation($s: String!, $n: String!) {{ r: assignRole(subject: $s, role: $n) {{ {OUTCOME} }} }}",
        lambda a: {"s": a["subject"], "n": a["name"]},
    ),
    "unassignRole": (
        f"mutation($s: String!, $n: String!) {{ r: unassignRole(subject: $s, role: $n) {{ {OUTCOME} }} }}",
        lambda a: {"s": a["subject"], "n": a["name"]},
    ),
    "createApiToken": (
        "mutation($s: String!, $r: [String!]!) { r: createApiToken(input: "
        '{subject: $s, roles: $r, expiresIn: "1h"}) '
        f"{{ {OUTCOME} ... on CreatedApiToken {{ token apiToken {{ id }} }} }} }}",
        lambda a: {"s": a["subject"], "r": a["roles"]},
    ),
    "revokeApiToken": (
        f"mutation($id: ID!) {{ r: revokeApiToken(id: $id) {{ {OUTCOME} }} }}",
        lambda a: {"id": a["token_id"]},
    ),
}


class Harness:
    """One gateway for all sequences, reset between them (starting an app costs 60 ms)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.tmp = Path(tempfile.mkdtemp(prefix="ogw-access-"))
        unlimited = Limits(rate_per_second=1e6, rate_burst=10**6, auth_failures_per_minute=10**6)
        self.app = create_app(make_settings(self.tmp, limits=unlimited))
        self.lifespan = self.app.router.lifespan_context(self.app)
        self.run(self.lifespan.__aenter__())
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://gateway.test"
        )
        self.observer = ""

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.run(self.client.aclose())
        self.run(self.lifespan.__aexit__(None, None, None))
        self.loop.close()

    def post(self, token: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        body = {"query": query, "variables": variables or {}}
        return self.run(self.client.post("/graphql", json=body, headers=headers))

    def reset(self) -> None:
        services = self.app.state.services

        async def wipe() -> None:
            store = services.store
            for collection in ("roles", "role_assignments", "api_tokens"):
                ids = [d.id async for d in _all(store, collection)]
                for doc_id in ids:
                    await store.delete(collection, doc_id)
            await services.rbac.ensure_builtins(now=0.0)
            self.observer, _ = await services.tokens.create(
                subject="observer", roles=["admin"], expires_in=3600
            )

        self.run(wipe())

    def mint(self, subject: str, roles: list[str]) -> tuple[str, str]:
        services = self.app.state.services
        secret, token = self.run(
            services.tokens.create(subject=subject, roles=roles, expires_in=3600)
        )
        return secret, token.id


async def _all(store: Any, collection: str) -> Any:
    from gateway.store.base import all_documents

    async for doc in all_documents(store, collection):
        yield doc


HARNESS: Harness | None = None


class AccessRules(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        assert HARNESS is not None
        self.h = HARNESS
        self.h.reset()
        self.model = AccessModel.initial()
        self._setup()

    def _setup(self) -> None:
        created = self.h.post(
            self.h.observer,
            'mutation { createRole(input: {name: "ops", inherits: ["developer"], permissions: '
            "[{resource: ACCESS, action: WRITE}, {resource: ACCESS, action: EXECUTE}]}) "
            '{ __typename } assignRole(subject: "ops-lead", role: "admin") { __typename } }',
        ).json()
        assert created["data"]["createRole"]["__typename"] == "Role", created
        self.model.apply("createRole", "", name="ops", perms=["access:write", "access:execute"],
                         parents=["developer"])  # fmt: skip
        self.model.apply("assignRole", "", subject="ops-lead", name="admin")
        for subject, role in [("root", "admin"), ("mod", "moderator"), ("dev", "developer"),
                              ("ana", "analyst"), ("view", "viewer"), ("opsy", "ops")]:  # fmt: skip
            secret, token_id = self.h.mint(subject, [role])
            self.model.tokens[token_id] = ModelToken(subject, {role}, False, secret)

    # -- drawing -------------------------------------------------------------------------
    def _active(self) -> list[str]:
        # In minting order: token ids are random, so sorting by id would draw differently
        # when hypothesis replays a sequence.
        return [t for t, tok in self.model.tokens.items() if not tok.revoked]

    def _actor(self, data: st.DataObject) -> str:
        # Mostly callers that may change access at all, else most steps end at FORBIDDEN.
        active = self._active()
        writers = [t for t in active if "access:write" in self.model.token_perms(t)]
        pool = writers if writers and data.draw(st.integers(0, 9), label="bias") < 8 else active
        return data.draw(st.sampled_from(pool), label="actor")

    def _role(self, data: st.DataObject) -> str:
        # Mostly existing custom roles (built-ins refuse most changes), sometimes any role,
        # sometimes one that does not exist (yet).
        bias = data.draw(st.integers(0, 9), label="bias")
        custom = sorted(r for r, role in self.model.roles.items() if not role.builtin)
        if custom and bias < 7:
            return data.draw(st.sampled_from(custom), label="role")
        pool = sorted(self.model.roles) if bias < 9 else CUSTOM
        return data.draw(st.sampled_from(pool), label="role")

    def _subject(self, data: st.DataObject, interesting: list[str]) -> str:
        """Half of the time a subject that makes the step interesting, if there is one."""
        if interesting and data.draw(st.booleans(), label="bias"):
            return data.draw(st.sampled_from(sorted(set(interesting))), label="subject")
        return data.draw(st.sampled_from(SUBJECTS), label="subject")

    def _parents(self, data: st.DataObject) -> list[str]:
        pool = sorted({*self.model.roles, "nope"})
        return data.draw(st.lists(st.sampled_from(pool), max_size=2, unique=True), label="parents")

    # -- one step --------------------------------------------------------------------------
    def step(self, op: str, actor: str, **args: Any) -> None:
        before = {t: self.model.token_perms(t) for t in self._active()}
        actor_perms = self.model.token_perms(actor)
        expected = self.model.predict(op, actor, **args)
        document, variables = MUTATIONS[op]
        body = self.h.post(self.model.tokens[actor].secret, document, variables(args)).json()
        outcome = _outcome(body)
        event(f"{op}: {outcome}")
        if isinstance(expected, Denied):
            assert outcome in expected.codes, (op, args, outcome, expected.codes, body)
            self.check_state()
            return
        assert outcome not in {"AccessError", "FORBIDDEN"} and "errors" not in body, (
            op,
            args,
            body,
        )
        if op == "createApiToken":
            made = body["data"]["r"]
            token = ModelToken(args["subject"], set(args["roles"]),
                               args["subject"] != self.model.tokens[actor].subject, made["token"])  # fmt: skip
            self.model.tokens[made["apiToken"]["id"]] = token
        else:
            self.model.apply(op, actor, **args)
        # The rule, on the model: nobody gained anything the actor does not hold.
        for token_id, held in before.items():
            if not self.model.tokens[token_id].revoked:
                gained = self.model.token_perms(token_id) - held
                assert gained <= actor_perms, (op, args, token_id, gained)
        self.check_state()
        self.check_tokens()

    # -- rules -----------------------------------------------------------------------------
    @rule(data=st.data(), perms=PERMS)
    def create_role(self, data: st.DataObject, perms: list[str]) -> None:
        name = data.draw(st.sampled_from(CUSTOM), label="name")
        self.step(
            "createRole", self._actor(data), name=name, perms=perms, parents=self._parents(data)
        )

    @rule(data=st.data())
    def update_role(self, data: st.DataObject) -> None:
        self.step(
            "updateRole", self._actor(data), name=self._role(data), parents=self._parents(data)
        )

    @rule(data=st.data())
    def delete_role(self, data: st.DataObject) -> None:
        self.step("deleteRole", self._actor(data), name=self._role(data))

    @rule(data=st.data(), perms=PERMS, add=st.booleans())
    def change_grants(self, data: st.DataObject, perms: list[str], add: bool) -> None:
        op = "grantPermissions" if add else "revokePermissions"
        self.step(op, self._actor(data), name=self._role(data), perms=perms)

    @rule(data=st.data(), add=st.booleans())
    def change_assignment(self, data: st.DataObject, add: bool) -> None:
        op = "assignRole" if add else "unassignRole"
        # Subjects of tokens minted by someone else: their assignments must not reach them.
        capped = [t.subject for t in self.model.tokens.values() if t.capped and not t.revoked]
        subject = self._subject(data, capped)
        self.step(op, self._actor(data), subject=subject, name=self._role(data))

    @precondition(lambda self: len(self.model.tokens) < 14)
    @rule(data=st.data())
    def create_token(self, data: st.DataObject) -> None:
        subject = self._subject(data, [s for s, roles in self.model.assigned.items() if roles])
        pool = sorted({*self.model.roles, *CUSTOM})
        roles = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
        self.step("createApiToken", self._actor(data), subject=subject, roles=roles)

    @precondition(lambda self: len(self._active()) > 3)
    @rule(data=st.data())
    def revoke_token(self, data: st.DataObject) -> None:
        token_id = data.draw(st.sampled_from(list(self.model.tokens)), label="token")
        self.step("revokeApiToken", self._actor(data), token_id=token_id)

    # -- checks against the real gateway ---------------------------------------------------
    def check_state(self) -> None:
        aliases = " ".join(
            f's{i}: assignments(subject: "{s}") {{ roles }}' for i, s in enumerate(SUBJECTS)
        )
        query = "{ access { roles { name inherits permissions { key } } " + aliases + " apiTokens(includeRevoked: true) { id revokedAt } } }"  # fmt: skip
        access = self.h.post(self.h.observer, query).json()["data"]["access"]
        real_roles = {r["name"]: r for r in access["roles"]}
        assert set(real_roles) == set(self.model.roles)
        for name, role in self.model.roles.items():
            assert {p["key"] for p in real_roles[name]["permissions"]} == role.direct, name
            assert real_roles[name]["inherits"] == role.parents, name
        for i, subject in enumerate(SUBJECTS):
            assert set(access[f"s{i}"]["roles"]) == self.model.assigned.get(subject, set()), subject
        revoked = {t["id"] for t in access["apiTokens"] if t["revokedAt"]}
        assert revoked == {t for t, tok in self.model.tokens.items() if tok.revoked}

    def check_tokens(self) -> None:
        for token_id, token in self.model.tokens.items():
            response = self.h.post(token.secret, "{ me { roles permissions { key } } }")
            if token.revoked:
                assert response.status_code == 401
                continue
            me = response.json()["data"]["me"]
            assert set(me["roles"]) == self.model.token_roles(token_id), (token_id, me)
            real = {p["key"] for p in me["permissions"]}
            assert real == self.model.token_perms(token_id), (token_id, token)

    def teardown(self) -> None:
        self.check_tokens()


def _outcome(body: dict[str, Any]) -> str:
    errors = body.get("errors") or []
    if errors:
        return errors[0].get("extensions", {}).get("code", "?")
    result = body["data"]["r"]
    return result["code"] if result["__typename"] == "AccessError" else result["__typename"]


def test_access_rules_hold_for_random_sequences() -> None:
    global HARNESS
    HARNESS = Harness()
    try:
        AccessRules.TestCase.settings = settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=os.environ.get("HYPOTHESIS_PROFILE") != "fuzz",
            # Shrinking a failure can take minutes; in make test a failing sequence of ten
            # steps is readable as it is, make fuzz shrinks.
            phases=list(Phase)
            if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
            else [Phase.explicit, Phase.reuse, Phase.generate],
        )
        AccessRules.TestCase().runTest()
    finally:
        HARNESS.close()
        HARNESS = None
