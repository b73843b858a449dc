"""What the models domain hands the schema from the Hub: a model's info, the Hub's
categories, and the weight formats detected in a repo's files."""

from __future__ import annotations

from gateway.backends.hub.models import HubCategory, HubModel
from gateway.backends.hub.quantization import Detected, QuantFormat, detect

__all__ = ["Detected", "HubCategory", "HubModel", "QuantFormat", "detect"]
