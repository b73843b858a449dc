"""Usage: ingestion, prices, rollups, the Lago outbox, live events."""
