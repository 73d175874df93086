"""The error a Cascade server answers with, as an exception."""

from __future__ import annotations

from typing import Optional


class CascadeError(Exception):
    """A request the server refused or could not serve.

    ``status`` is the HTTP status, ``code`` the server's error code (``"invalid"``,
    ``"not_found"``, ``"unauthorized"``, ...) and ``message`` its explanation. A failure to reach
    the server at all has status 0 and code ``"connection"``.
    """

    def __init__(self, status: int, code: str, message: str, body: Optional[str] = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body

    @classmethod
    def from_response(cls, status: int, body: str) -> "CascadeError":
        """Reads the server's JSON error (``{"error": {"status", "code", "message"}}``); a body
        that is not one (a proxy's page, a 401 without a body) keeps the status and the text."""
        import json

        try:
            e = json.loads(body)["error"]
            return cls(int(e.get("status", status)), str(e["code"]), str(e["message"]), body)
        except (ValueError, KeyError, TypeError):
            return cls(status, "http_%d" % status, body.strip()[:500] or "no body", body)
