"""What the models domain hands the schema from the Hub: a model's info, a search, the
Hub's categories, and the weight formats detected in a repo's files."""

from __future__ import annotations

from gateway.backends.hub.models import HubCategory, HubModel, HubSearch
from gateway.backends.hub.quantization import Detected, QuantFormat, detect

__all__ = ["Detected", "HubCategory", "HubModel", "HubSearch", "QuantFormat", "detect"]
