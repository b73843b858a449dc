"""The Hugging Face Hub backend: huggingface_hub in worker threads, errors mapped once."""

from gateway.backends.hub.client import HubClient
from gateway.backends.hub.models import HubCategory, HubFile, HubModel

__all__ = ["HubCategory", "HubClient", "HubFile", "HubModel"]
