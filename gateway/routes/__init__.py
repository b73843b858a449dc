"""The REST routes next to ``/graphql`` (view layer): usage events from LLM proxies, Lago's
webhooks and ACME's HTTP-01 challenges. Each signs in or verifies its caller here and hands
the work to its domain's service."""
