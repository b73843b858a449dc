"""An independent model of the access rules of issue 10, for the stateful test.

Written from the rule's statement, not from gateway/auth: it shares only the vocabulary
(resources, actions, built-in grants). Given the state and an actor it predicts whether a
change is allowed; after the change it says what every token holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.auth.permissions import ALL_PERMISSIONS, BUILTIN_GRANTS, BUILTIN_ROLES

MINT_FOR_OTHERS = "access:execute"
# The permission each mutation's field demands before anything else is looked at.
FIELD_PERMISSION = {
    "createRole": "access:write",
    "updateRole": "access:write",
    "deleteRole": "access:delete",
    "grantPermissions": "access:write",
    "revokePermissions": "access:write",
    "assignRole": "access:write",
    "unassignRole": "access:write",
    "createApiToken": "access:write",
    "revokeApiToken": "access:write",
}


@dataclass
class ModelRole:
    direct: set[str]
    parents: list[str]
    builtin: bool


@dataclass
class ModelToken:
    subject: str
    roles: set[str]
    capped: bool
    secret: str
    revoked: bool = False


@dataclass
class Denied:
    """A refusal: the codes that may explain it (several reasons can hold at once)."""

    codes: set[str]


@dataclass
class AccessModel:
    roles: dict[str, ModelRole] = field(default_factory=dict)
    assigned: dict[str, set[str]] = field(default_factory=dict)
    tokens: dict[str, ModelToken] = field(default_factory=dict)

    @classmethod
    def initial(cls) -> AccessModel:
        model = cls()
        for i, name in enumerate(BUILTIN_ROLES):
            parents = [BUILTIN_ROLES[i + 1]] if i + 1 < len(BUILTIN_ROLES) else []
            model.roles[name] = ModelRole(set(BUILTIN_GRANTS[name]), parents, True)
        return model

    # -- what is held ------------------------------------------------------------------
    def closure(self, name: str) -> set[str]:
        seen, stack = set(), [name]
        while stack:
            current = stack.pop()
            if current in seen or current not in self.roles:
                continue
            seen.add(current)
            stack.extend(self.roles[current].parents)
        return seen

    def effective(self, names: set[str] | list[str]) -> set[str]:
        perms: set[str] = set()
        for name in names:
            for role in self.closure(name):
                perms |= ALL_PERMISSIONS if role == "admin" else self.roles[role].direct
        return perms

    def token_perms(self, token_id: str) -> set[str]:
        token = self.tokens[token_id]
        roles = set(token.roles)
        if not token.capped:
            roles |= self.assigned.get(token.subject, set())
        return self.effective(roles)

    def token_roles(self, token_id: str) -> set[str]:
        token = self.tokens[token_id]
        roles = set(token.roles)
        return roles if token.capped else roles | self.assigned.get(token.subject, set())

    def subject_perms(self, subject: str) -> set[str]:
        roles = set(self.assigned.get(subject, set()))
        for token in self.tokens.values():
            if token.subject == subject and not token.revoked:
                roles |= token.roles
        return self.effective(roles)

    def heirs(self, name: str) -> set[str]:
        return {r for r in self.roles if r != name and name in self.closure(r)}

    # -- predictions -------------------------------------------------------------------
    def predict(self, op: str, actor: str, **args: object) -> Denied | None:
        """``None`` if the change is allowed, else the codes that may refuse it."""
        held = self.token_perms(actor)
        if FIELD_PERMISSION[op] not in held:
            return Denied({"FORBIDDEN"})
        reasons = getattr(self, f"_{op}")(held, self.tokens[actor].subject, **args)
        return Denied(reasons) if reasons else None

    def _outranks_role(self, held: set[str], name: str) -> set[str]:
        reasons: set[str] = set()
        if self.roles[name].builtin and not held >= ALL_PERMISSIONS:
            reasons.add("BUILTIN_ROLE")
        if any(not self.effective([r]) <= held for r in {name, *self.heirs(name)}):
            reasons.add("NOT_HELD")
        return reasons

    def _createRole(self, held, me, *, name, perms, parents) -> set[str]:
        reasons: set[str] = set()
        if name in self.roles:
            reasons.add("ALREADY_EXISTS")
        if any(p not in self.roles for p in parents):
            reasons.add("NOT_FOUND")
        elif not (set(perms) | self.effective(parents)) <= held:
            reasons.add("NOT_HELD")
        return reasons

    def _updateRole(self, held, me, *, name, parents) -> set[str]:
        if name not in self.roles:
            return {"NOT_FOUND"}
        role = self.roles[name]
        reasons = self._outranks_role(held, name)
        if role.builtin and list(dict.fromkeys(parents)) != role.parents:
            reasons.add("BUILTIN_ROLE")
        if any(p not in self.roles for p in parents):
            reasons.add("NOT_FOUND")
        elif any(name in self.closure(p) for p in parents):
            reasons.add("CYCLE")
        elif not self.effective(parents) <= held:
            reasons.add("NOT_HELD")
        return reasons

    def _deleteRole(self, held, me, *, name) -> set[str]:
        if name not in self.roles:
            return {"NOT_FOUND"}
        reasons = {"BUILTIN_ROLE"} if self.roles[name].builtin else set()
        if self.heirs(name):
            reasons.add("INVALID")
        reasons |= self._outranks_role(held, name) - {"BUILTIN_ROLE"}
        if any(
            name in roles and not self.subject_perms(s) <= held
            for s, roles in self.assigned.items()
        ):
            reasons.add("NOT_HELD")
        return reasons

    def _grantPermissions(self, held, me, *, name, perms) -> set[str]:
        if name not in self.roles:
            return {"NOT_FOUND"}
        if name == "admin":
            return {"BUILTIN_ROLE"}
        reasons = self._outranks_role(held, name)
        if not set(perms) <= held:
            reasons.add("NOT_HELD")
        return reasons

    _revokePermissions = _grantPermissions

    def _assignRole(self, held, me, *, subject, name) -> set[str]:
        if name not in self.roles:
            return {"NOT_FOUND"}
        reasons: set[str] = set()
        if not self.effective([name]) <= held or not self.subject_perms(subject) <= held:
            reasons.add("NOT_HELD")
        if name in self.assigned.get(subject, set()):
            reasons.add("INVALID")
        return reasons

    def _unassignRole(self, held, me, *, subject, name) -> set[str]:
        if name not in self.roles:
            return {"NOT_FOUND"}
        reasons: set[str] = set()
        if not self.subject_perms(subject) <= held:
            reasons.add("NOT_HELD")
        if name not in self.assigned.get(subject, set()):
            reasons.add("INVALID")
        return reasons

    def _createApiToken(self, held, me, *, subject, roles) -> set[str]:
        if any(r not in self.roles for r in roles):
            return {"NOT_FOUND"}
        reasons: set[str] = set()
        if not self.effective(roles) <= held:
            reasons.add("NOT_HELD")
        if subject != me and MINT_FOR_OTHERS not in held:
            reasons.add("NOT_HELD")
        if not self.subject_perms(subject) <= held:
            reasons.add("NOT_HELD")
        return reasons

    def _revokeApiToken(self, held, me, *, token_id) -> set[str]:
        if token_id not in self.tokens:
            return {"NOT_FOUND"}
        if not self.subject_perms(self.tokens[token_id].subject) <= held:
            return {"NOT_HELD"}
        return set()

    # -- applying an allowed change ----------------------------------------------------
    def apply(self, op: str, actor: str, **args: object) -> None:
        if op == "createRole":
            self.roles[args["name"]] = ModelRole(  # type: ignore[index]
                set(args["perms"]),
                list(dict.fromkeys(args["parents"])),
                False,  # type: ignore[arg-type]
            )
        elif op == "updateRole":
            self.roles[args["name"]].parents = list(dict.fromkeys(args["parents"]))  # type: ignore
        elif op == "deleteRole":
            del self.roles[args["name"]]  # type: ignore[arg-type]
            for roles in self.assigned.values():
                roles.discard(args["name"])  # type: ignore[arg-type]
        elif op == "grantPermissions":
            self.roles[args["name"]].direct |= set(args["perms"])  # type: ignore
        elif op == "revokePermissions":
            self.roles[args["name"]].direct -= set(args["perms"])  # type: ignore
        elif op == "assignRole":
            self.assigned.setdefault(args["subject"], set()).add(args["name"])  # type: ignore
        elif op == "unassignRole":
            self.assigned[args["subject"]].discard(args["name"])  # type: ignore
        elif op == "revokeApiToken":
            self.tokens[args["token_id"]].revoked = True  # type: ignore[index]
