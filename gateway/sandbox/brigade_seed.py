"""The Brigade sandbox's seeded agents and task history: deterministic per ``seed``."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_NOW = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)
STATUSES = ("pending", "running", "completed", "failed", "cancelled")
_AGENTS = (  # (name, owner, model)
    ("research-assistant", "alice", "llama-3.1-70b"),
    ("code-reviewer", "alice", "qwen2.5-coder-32b"),
    ("support-triage", "bob", "mistral-7b-instruct"),
    ("invoice-reconciler", "bob", "llama-3.1-8b"),
    ("data-pipeline-doctor", "carol", "qwen2.5-32b"),
    ("release-notes-writer", "carol", "llama-3.1-8b"),
    ("incident-summarizer", "ops", "llama-3.1-70b"),
    ("cert-expiry-watcher", "ops", "phi-3-mini"),
    ("log-anomaly-hunter", "ops", "mistral-7b-instruct"),
    ("sales-email-drafter", "dave", "llama-3.1-8b"),
    ("contract-clause-checker", "dave", "qwen2.5-32b"),
    ("onboarding-guide", "erin", "phi-3-mini"),
)
_PROMPTS = (
    "Summarise yesterday's incidents",
    "Review pull request #{n}",
    "Triage ticket SUP-{n}",
    "Reconcile invoices for account {n}",
    "Explain the failed pipeline run {n}",
    "Draft release notes for v1.{n}",
    "Check certificates expiring in 14 days",
    "Find anomalies in gateway logs, batch {n}",
)
_ERRORS = (
    "tool call timed out after 300s",
    "model returned invalid JSON",
    "rate limited by upstream provider",
    "context window exceeded",
)


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    name: str
    owner: str
    model: str
    created_at: datetime


def iso(value: datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat().replace("+00:00", "Z") if value else None


def seed_data(seed: int, tasks: int, now: datetime) -> tuple[list[Agent], list[dict[str, Any]]]:
    rng = random.Random(seed)
    agents = [
        Agent(f"agt_{i + 1:03d}", name, owner, model, now - timedelta(days=60 + 7 * i))
        for i, (name, owner, model) in enumerate(_AGENTS)
    ]
    weights = [rng.uniform(0.3, 3.0) for _ in agents]  # some agents are much busier
    rows: list[dict[str, Any]] = []
    for i in range(tasks):
        agent = rng.choices(agents, weights)[0]
        age = timedelta(minutes=3 + i * 14 * 24 * 60 / max(tasks, 1) + rng.uniform(0, 50))
        created = now - age
        if i < 3:
            status = "running" if i else "pending"
        else:
            status = rng.choices(("completed", "failed", "cancelled"), (82, 12, 6))[0]
        duration = round(rng.lognormvariate(5.3, 1.0), 1) if status != "pending" else None
        started = created + timedelta(seconds=rng.uniform(0.5, 20)) if duration else None
        done = status in ("completed", "failed", "cancelled")
        completed = started + timedelta(seconds=duration) if done and started and duration else None
        prompt = rng.choice(_PROMPTS).format(n=rng.randint(100, 999))
        calls = rng.randint(1, 60) if status != "pending" else 0
        rows.append(
            {
                "task_id": f"tsk_{tasks - i:05d}",
                "agent_id": agent.id,
                "agent_name": agent.name,
                "user_id": agent.owner,
                "status": status,
                "created_at": iso(created),
                "started_at": iso(started),
                "completed_at": iso(completed),
                "duration": duration if done else None,
                "api_calls": calls,
                "input": {"prompt": prompt, "model": agent.model},
                "output": {"summary": f"{prompt}: done"} if status == "completed" else None,
                "error": rng.choice(_ERRORS) if status == "failed" else None,
            }
        )
    return agents, rows
