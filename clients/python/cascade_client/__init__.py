"""Typed client for Cascade's HTTP API: ``Client`` (blocking) and ``AsyncClient`` (asyncio).

Standard library only. Every route of ``docs/openapi.json`` has a method; every response is a
dataclass; a server error raises ``CascadeError`` carrying the server's status, code and message.
"""

from .client import AsyncClient, Client
from .errors import CascadeError
from .models import (
    Debug,
    Deleted,
    FeedbackEvent,
    FeedbackResponse,
    GeoPoint,
    Health,
    Item,
    ItemTrace,
    RecommendedItem,
    RecommendResponse,
    SimilarResponse,
    StageTiming,
    User,
)

__all__ = [
    "AsyncClient", "CascadeError", "Client", "Debug", "Deleted", "FeedbackEvent", "FeedbackResponse", "GeoPoint",
    "Health", "Item", "ItemTrace", "RecommendResponse", "RecommendedItem", "SimilarResponse", "StageTiming", "User",
]
