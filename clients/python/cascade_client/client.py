"""Blocking and asyncio clients of Cascade's HTTP API (standard library only)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterable, Optional

from .errors import CascadeError
from .models import Deleted, FeedbackEvent, FeedbackResponse, Health, Item, RecommendResponse, SimilarResponse, User

# The client method of every route of docs/openapi.json (checked by the contract test).
OPERATIONS = {
    ("get", "/api/recommend/{user}"): "recommend",
    ("post", "/api/feedback"): "feedback",
    ("get", "/api/users/{id}"): "get_user",
    ("put", "/api/users/{id}"): "put_user",
    ("delete", "/api/users/{id}"): "delete_user",
    ("get", "/api/items/{id}"): "get_item",
    ("put", "/api/items/{id}"): "put_item",
    ("delete", "/api/items/{id}"): "delete_item",
    ("post", "/api/items/{id}/hide"): "hide_item",
    ("post", "/api/items/{id}/unhide"): "unhide_item",
    ("get", "/api/items/{id}/similar"): "similar_items",
    ("get", "/health"): "health",
    ("get", "/metrics"): "metrics",
    ("get", "/dashboard"): "dashboard",
    ("get", "/api/experiments"): "get_experiments",
    ("put", "/api/experiments"): "put_experiments",
}


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")


class Client:
    """A Cascade server at ``base_url`` (``http://host:8080``). ``key`` is sent as a bearer token:
    the read key for recommendations, the admin key for writes and experiments."""

    def __init__(self, base_url: str, key: Optional[str] = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.timeout = timeout

    # -- transport -------------------------------------------------------------------------

    def _request(self, method: str, path: str, query: Optional[Dict[str, Any]] = None, body: Any = None) -> str:
        url = self.base_url + path
        q = {k: ("true" if v is True else "false" if v is False else v) for k, v in (query or {}).items() if v is not None}
        if q:
            url += "?" + urllib.parse.urlencode(q)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method.upper())
        if data is not None or method in ("post", "put"):
            req.add_header("Content-Type", "application/json")  # the server refuses a write without it
        if self.key:
            req.add_header("Authorization", "Bearer " + self.key)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return r.read().decode()
        except urllib.error.HTTPError as e:
            raise CascadeError.from_response(e.code, e.read().decode(errors="replace")) from None
        except (urllib.error.URLError, OSError) as e:
            raise CascadeError(0, "connection", "cannot reach %s: %s" % (self.base_url, getattr(e, "reason", e))) from None

    def _json(self, method: str, path: str, query: Optional[Dict[str, Any]] = None, body: Any = None) -> Any:
        return json.loads(self._request(method, path, query, body))

    # -- recommendations -------------------------------------------------------------------

    def recommend(self, user: str, n: Optional[int] = None, scene: Optional[str] = None, debug: bool = False) -> RecommendResponse:
        """The page for ``user`` (a new user gets a cold-start page)."""
        return RecommendResponse.from_json(self._json("get", "/api/recommend/" + _segment(user),
                                                      {"n": n, "scene": scene, "debug": True if debug else None}))

    def similar_items(self, item: str, n: Optional[int] = None) -> SimilarResponse:
        return SimilarResponse.from_json(self._json("get", "/api/items/%s/similar" % _segment(item), {"n": n}))

    def feedback(self, events: Iterable[FeedbackEvent]) -> FeedbackResponse:
        """Records events; all or none are accepted (a bad one refuses the batch)."""
        return FeedbackResponse.from_json(self._json("post", "/api/feedback", body={"events": [e.to_json() for e in events]}))

    # -- users and items -------------------------------------------------------------------

    def get_user(self, user: str) -> User:
        return User.from_json(self._json("get", "/api/users/" + _segment(user)))

    def put_user(self, user: User) -> User:
        return User.from_json(self._json("put", "/api/users/" + _segment(user.id), body=user.to_json()))

    def delete_user(self, user: str) -> Deleted:
        return Deleted.from_json(self._json("delete", "/api/users/" + _segment(user)))

    def get_item(self, item: str) -> Item:
        return Item.from_json(self._json("get", "/api/items/" + _segment(item)))

    def put_item(self, item: Item) -> Item:
        return Item.from_json(self._json("put", "/api/items/" + _segment(item.id), body=item.to_json()))

    def delete_item(self, item: str) -> Deleted:
        return Deleted.from_json(self._json("delete", "/api/items/" + _segment(item)))

    def hide_item(self, item: str) -> Item:
        return Item.from_json(self._json("post", "/api/items/%s/hide" % _segment(item)))

    def unhide_item(self, item: str) -> Item:
        return Item.from_json(self._json("post", "/api/items/%s/unhide" % _segment(item)))

    # -- operations ------------------------------------------------------------------------

    def health(self) -> Health:
        return Health.from_json(self._json("get", "/health"))

    def metrics(self) -> str:
        """The Prometheus text of ``/metrics``."""
        return self._request("get", "/metrics")

    def dashboard(self, user: Optional[str] = None, n: Optional[int] = None) -> str:
        """The dashboard's HTML."""
        return self._request("get", "/dashboard", {"user": user, "n": n})

    def get_experiments(self) -> Dict[str, Any]:
        """The layered experiment config (see the README's "Experiments")."""
        return self._json("get", "/api/experiments")

    def put_experiments(self, config: Dict[str, Any]) -> Dict[str, Any]:
        """Replaces the experiment config; the server checks it first and changes nothing if it is refused."""
        return self._json("put", "/api/experiments", body=config)


class AsyncClient:
    """The same methods as ``Client``, awaitable (each request runs in a worker thread, so an
    event loop never blocks on the network)."""

    def __init__(self, base_url: str, key: Optional[str] = None, timeout: float = 10.0) -> None:
        self.client = Client(base_url, key, timeout)

    async def recommend(self, user: str, n: Optional[int] = None, scene: Optional[str] = None, debug: bool = False) -> RecommendResponse:
        return await asyncio.to_thread(self.client.recommend, user, n, scene, debug)

    async def similar_items(self, item: str, n: Optional[int] = None) -> SimilarResponse:
        return await asyncio.to_thread(self.client.similar_items, item, n)

    async def feedback(self, events: Iterable[FeedbackEvent]) -> FeedbackResponse:
        return await asyncio.to_thread(self.client.feedback, list(events))

    async def get_user(self, user: str) -> User:
        return await asyncio.to_thread(self.client.get_user, user)

    async def put_user(self, user: User) -> User:
        return await asyncio.to_thread(self.client.put_user, user)

    async def delete_user(self, user: str) -> Deleted:
        return await asyncio.to_thread(self.client.delete_user, user)

    async def get_item(self, item: str) -> Item:
        return await asyncio.to_thread(self.client.get_item, item)

    async def put_item(self, item: Item) -> Item:
        return await asyncio.to_thread(self.client.put_item, item)

    async def delete_item(self, item: str) -> Deleted:
        return await asyncio.to_thread(self.client.delete_item, item)

    async def hide_item(self, item: str) -> Item:
        return await asyncio.to_thread(self.client.hide_item, item)

    async def unhide_item(self, item: str) -> Item:
        return await asyncio.to_thread(self.client.unhide_item, item)

    async def health(self) -> Health:
        return await asyncio.to_thread(self.client.health)

    async def metrics(self) -> str:
        return await asyncio.to_thread(self.client.metrics)

    async def dashboard(self, user: Optional[str] = None, n: Optional[int] = None) -> str:
        return await asyncio.to_thread(self.client.dashboard, user, n)

    async def get_experiments(self) -> Dict[str, Any]:
        return await asyncio.to_thread(self.client.get_experiments)

    async def put_experiments(self, config: Dict[str, Any]) -> Dict[str, Any]:
        return await asyncio.to_thread(self.client.put_experiments, config)
