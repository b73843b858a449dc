"""Every fixed name the gateway keeps data under: collections, log streams, counter
namespaces and pub/sub channels.

One table because together they are the persistent layout (what a backup holds, what a
migration renames) and because two domains must never pick the same name by accident:
``tests/store/test_names.py`` checks that no name is taken twice. Names made per item are
built where they are used: a job's channel (``jobs:<id>``, gateway/jobs/records.py), a
runner's liveness key (``jobs:runner:<id>``), an ACME challenge's key
(gateway/backends/acme/challenges.py) and the usage rollups' counter namespaces
(gateway/usage/buckets.py).
"""

from __future__ import annotations

# -- document collections ------------------------------------------------------------------
API_TOKENS = "api_tokens"
ROLES = "roles"
ROLE_ASSIGNMENTS = "role_assignments"
TRUSTED_DOCUMENTS = "trusted_documents"
"""id -> the document as imported."""
TRUSTED_DOCUMENT_HASHES = "trusted_document_hashes"
"""``exact:<sha256>`` and ``norm:<sha256 of the whitespace-normalised body>`` -> id."""
PERSISTED_QUERIES = "persisted_queries"
"""sha256 -> a document registered by a client (Apollo's automatic persisted queries)."""
MODELS_STATE = "models.state"
"""The active model (one document, ``active``)."""
MODELS_SETTINGS = "models.settings"
MODELS_HUB = "models.hub"
"""The Hub token set through the API (one document, ``token``)."""
JOBS = "jobs"
JOB_KEYS = "job_keys"
"""Deduplication keys claimed by a job: ``kind:key`` -> job id, so that replicas asked for the
same download or renewal at once start it once."""
PROVIDERS = "providers"
PROVIDER_TESTS = "provider_tests"
"""The last connection test of each provider, by provider id: kept apart so that a test does
not bump the provider's version (an editor's expectedVersion stays valid)."""
USAGE_PRICES = "usage_prices"
USAGE_LEASES = "usage_leases"
ACME_ACCOUNTS = "acme_accounts"

# -- log streams ---------------------------------------------------------------------------
AUDIT_STREAM = "audit"
USAGE_STREAM = "usage:events"
LAGO_WEBHOOK_STREAM = "lago-webhooks"

# -- counter namespaces --------------------------------------------------------------------
ACCESS_COUNTERS = "rbac"
"""``generation``: bumped by every change of roles, assignments or tokens (gateway/auth)."""
USAGE_PROGRESS = "usage:progress"
"""How far the rollups (``rollup``) and the Lago outbox (``lago``) have read the usage stream."""

# -- pub/sub channels (not stored; listed so that one name means one thing) ----------------
AUDIT_CHANNEL = "audit"
ACCESS_CHANGES_CHANNEL = "access-changes"
JOBS_CONTROL_CHANNEL = "jobs:control"
"""Cross-replica requests (cancel) for the runner that owns a job."""
USAGE_CHANNEL = "usage:events"
LAGO_WEBHOOK_CHANNEL = "lago-webhooks"
