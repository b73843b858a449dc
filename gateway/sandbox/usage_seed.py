"""Sandbox mode's LLM usage: two weeks of generated requests, ingested the real way.

Usage figures in a real deployment come only from recorded events; in sandbox mode the
dashboard still needs something to show, so this generates deterministic traffic and feeds it
through ``UsageService.ingest`` (rollups, live events and the Lago outbox all run as usual).
One model is left without a price, so the "unpriced" flag shows too.
"""

from __future__ import annotations

import math
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from gateway.services import Services

# (model, provider, input $/M tokens, output $/M tokens, share of traffic); None: no price set.
MODELS: tuple[tuple[str, str, str | None, str | None, float], ...] = (
    ("gpt-4o-mini", "openai", "0.15", "0.60", 0.35),
    ("claude-3-5-sonnet", "anthropic", "3.00", "15.00", 0.20),
    ("gemini-1.5-flash", "google", "0.075", "0.30", 0.15),
    ("llama-3.1-8b-instruct", "vllm", "0.05", "0.10", 0.20),
    ("mistral-7b", "ollama", None, None, 0.10),
)
SUBJECTS = (*(f"user-{n:02d}" for n in range(1, 19)), "ci-bot", "support-agent")
DAYS = 14
EVENTS = 4_000
BATCH = 500


def generate(*, now: float, seed: int = 11) -> list[dict[str, object]]:
    """Deterministic events for the last ``DAYS`` days, busier in working hours."""
    rng = random.Random(seed)
    weights = [share for *_, share in MODELS]
    # A few heavy users and a long tail, as real usage looks.
    subject_weights = [1 / (rank + 1) for rank in range(len(SUBJECTS))]
    events: list[dict[str, object]] = []
    while len(events) < EVENTS:
        at = now - rng.uniform(60, DAYS * 86400)
        hour = datetime.fromtimestamp(at, tz=UTC).hour
        if rng.random() > 0.35 + 0.65 * math.sin(math.pi * max(0, hour - 6) / 14) ** 2:
            continue
        model, provider, *_ = rng.choices(MODELS, weights)[0]
        prompt = int(rng.lognormvariate(6.5, 0.9))
        status = rng.choices(["success", "error", "timeout", "rate_limited"], [96, 2, 1, 1])[0]
        completion = int(rng.lognormvariate(5.2, 0.8)) if status == "success" else 0
        events.append(
            {
                "id": f"sandbox-{len(events):05d}",
                "timestamp": round(at, 3),
                "subject": rng.choices(SUBJECTS, subject_weights)[0],
                "model": model,
                "provider": provider,
                "prompt_tokens": prompt,
                "cached_tokens": int(prompt * rng.choice([0, 0, 0, 0.3, 0.6])),
                "completion_tokens": completion,
                "latency_ms": int(rng.lognormvariate(6.6, 0.5)),
                "status": status,
            }
        )
    return sorted(events, key=lambda e: e["timestamp"])  # type: ignore[arg-type, return-value]


async def seed_usage(services: Services, *, now: float | None = None) -> int:
    """Set prices and ingest the generated events; return how many were new."""
    now = time.time() if now is None else now
    since = datetime.fromtimestamp(now, tz=UTC).date() - timedelta(days=DAYS + 1)
    for model, _, price_in, price_out, _ in MODELS:
        if price_in is not None and price_out is not None:
            await services.usage.set_price(
                model=model,
                input=Decimal(price_in),
                output=Decimal(price_out),
                cached=None,
                effective_from=since,
                actor="sandbox",
            )
    events = generate(now=now)
    accepted = 0
    for start in range(0, len(events), BATCH):
        result = await services.usage.ingest(events[start : start + BATCH])
        accepted += result.accepted
    return accepted
