"""The API's objects as dataclasses (the schemas of ``docs/openapi.json``), read from and
written to JSON with ``from_json`` / ``to_json``. Unknown fields a newer server adds are ignored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


def _drop_none(d: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


@dataclass
class GeoPoint:
    latitude: float
    longitude: float

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "GeoPoint":
        return cls(float(d["latitude"]), float(d["longitude"]))

    def to_json(self) -> Dict[str, Any]:
        return {"latitude": self.latitude, "longitude": self.longitude}


@dataclass
class User:
    id: str
    categorical: Dict[str, str] = field(default_factory=dict)
    numeric: Dict[str, float] = field(default_factory=dict)
    tags: List[str] = field(default_factory=list)
    location: Optional[GeoPoint] = None

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "User":
        return cls(d["id"], dict(d.get("categorical") or {}), dict(d.get("numeric") or {}), list(d.get("tags") or []),
                   GeoPoint.from_json(d["location"]) if d.get("location") else None)

    def to_json(self) -> Dict[str, Any]:
        return _drop_none({"id": self.id, "categorical": self.categorical, "numeric": self.numeric, "tags": self.tags,
                           "location": self.location.to_json() if self.location else None})


@dataclass
class Item:
    id: str
    categories: List[str] = field(default_factory=list)
    tags: List[str] = field(default_factory=list)
    author: Optional[str] = None
    location: Optional[GeoPoint] = None
    publishedAt: Optional[float] = None
    numeric: Dict[str, float] = field(default_factory=dict)
    categorical: Dict[str, str] = field(default_factory=dict)
    hidden: bool = False

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "Item":
        return cls(d["id"], list(d.get("categories") or []), list(d.get("tags") or []), d.get("author"),
                   GeoPoint.from_json(d["location"]) if d.get("location") else None, d.get("publishedAt"),
                   dict(d.get("numeric") or {}), dict(d.get("categorical") or {}), bool(d.get("hidden", False)))

    def to_json(self) -> Dict[str, Any]:
        return _drop_none({"id": self.id, "categories": self.categories, "tags": self.tags, "author": self.author,
                           "location": self.location.to_json() if self.location else None, "publishedAt": self.publishedAt,
                           "numeric": self.numeric, "categorical": self.categorical, "hidden": self.hidden})


@dataclass
class FeedbackEvent:
    """One event: ``type`` is an event type the server knows (``click``, ``like``, ``watch``,
    ``impression``, ...); ``timestamp`` in Unix seconds (the server's clock when omitted)."""

    user: str
    item: str
    type: str = "click"
    timestamp: Optional[float] = None
    value: Optional[float] = None
    scene: Optional[str] = None
    request: Optional[str] = None
    position: Optional[int] = None

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "FeedbackEvent":
        return cls(d["user"], d["item"], d.get("type", "click"), d.get("timestamp"), d.get("value"), d.get("scene"),
                   d.get("request"), d.get("position"))

    def to_json(self) -> Dict[str, Any]:
        return _drop_none({"user": self.user, "item": self.item, "type": self.type, "timestamp": self.timestamp,
                           "value": self.value, "scene": self.scene, "request": self.request, "position": self.position})


@dataclass
class FeedbackResponse:
    accepted: int

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "FeedbackResponse":
        return cls(int(d["accepted"]))


@dataclass
class ItemTrace:
    recallScore: float
    recallRank: int
    preRankScore: Optional[float] = None
    preRankRank: Optional[int] = None
    taskScores: Dict[str, float] = field(default_factory=dict)
    fusedScore: Optional[float] = None
    rankRank: Optional[int] = None

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "ItemTrace":
        return cls(float(d["recallScore"]), int(d["recallRank"]), d.get("preRankScore"), d.get("preRankRank"),
                   dict(d.get("taskScores") or {}), d.get("fusedScore"), d.get("rankRank"))


@dataclass
class RecommendedItem:
    item: str
    score: float
    channels: List[str]
    trace: Optional[ItemTrace] = None

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "RecommendedItem":
        return cls(d["item"], float(d["score"]), list(d["channels"]), ItemTrace.from_json(d["trace"]) if d.get("trace") else None)


@dataclass
class StageTiming:
    stage: str
    candidates: int
    ms: float

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "StageTiming":
        return cls(d["stage"], int(d["candidates"]), float(d["ms"]))


@dataclass
class Debug:
    merged: int
    stages: List[StageTiming]
    totalMs: float
    overrides: Dict[str, str]
    degraded: List[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "Debug":
        return cls(int(d["merged"]), [StageTiming.from_json(s) for s in d["stages"]], float(d["totalMs"]),
                   dict(d.get("overrides") or {}), list(d.get("degraded") or []))


@dataclass
class RecommendResponse:
    request: str
    user: str
    items: List[RecommendedItem]
    coldStart: bool
    models: Dict[str, Any]
    scene: Optional[str] = None
    experiment: Optional[str] = None
    debug: Optional[Debug] = None

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "RecommendResponse":
        return cls(d["request"], d["user"], [RecommendedItem.from_json(i) for i in d["items"]], bool(d["coldStart"]), dict(d["models"]),
                   d.get("scene"), d.get("experiment"), Debug.from_json(d["debug"]) if d.get("debug") else None)


@dataclass
class SimilarResponse:
    item: str
    method: str
    items: List[RecommendedItem]

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "SimilarResponse":
        return cls(d["item"], d["method"], [RecommendedItem.from_json(i) for i in d["items"]])


@dataclass
class Health:
    status: str
    models: Dict[str, Any]
    users: int
    items: int
    uptimeSeconds: float

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "Health":
        return cls(d["status"], dict(d["models"]), int(d["users"]), int(d["items"]), float(d["uptimeSeconds"]))


@dataclass
class Deleted:
    deleted: bool

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "Deleted":
        return cls(bool(d["deleted"]))


# The schema each dataclass stands for, for the contract test against docs/openapi.json.
SCHEMAS = {
    "GeoPoint": GeoPoint, "User": User, "UserBody": User, "Item": Item, "ItemBody": Item, "FeedbackEvent": FeedbackEvent,
    "FeedbackResponse": FeedbackResponse, "ItemTrace": ItemTrace, "RecommendedItem": RecommendedItem,
    "StageTiming": StageTiming, "Debug": Debug, "RecommendResponse": RecommendResponse, "SimilarResponse": SimilarResponse,
    "Health": Health, "Deleted": Deleted,
}
