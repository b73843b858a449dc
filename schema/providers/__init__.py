"""The providers domain: LLM provider kinds, records and connection tests."""
