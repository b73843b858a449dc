"""Brigade, the agent service: usage and task history (issue 7)."""

from gateway.backends.brigade.client import BrigadeClient

__all__ = ["BrigadeClient"]
