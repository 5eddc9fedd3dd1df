"""HTTP behaviour of /api/: conditional GETs (ETag, Last-Modified), CORS for reads,
a fixed-window rate limit per token and per IP, a request body limit, and
pagination links."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

from flask import current_app, request
from flask import json as flask_json

from web.api import problem

API_PREFIX = "/api/"
# Request bodies of the API are small JSON documents.
MAX_BODY_BYTES = 1024 * 1024
CORS_EXPOSED = "ETag, Last-Modified, Link, Location, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining"
WINDOW_SECONDS = 60


def conditional(data: dict, last_modified: datetime | None = None, status: int = 200):
    """A JSON response with a strong ETag (hash of the body) and Last-Modified;
    304 when the client's If-None-Match (or, without it, If-Modified-Since) matches."""
    body = flask_json.dumps(data)
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    response = current_app.response_class(body, status=status, mimetype="application/json")
    response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = last_modified.astimezone(UTC).replace(microsecond=0)
    if request.if_none_match:
        not_modified = request.if_none_match.contains(etag)
    elif request.if_modified_since and last_modified is not None:
        not_modified = last_modified.replace(microsecond=0) <= request.if_modified_since
    else:
        not_modified = False
    if not_modified:
        response.status_code = 304
        response.set_data(b"")
    return response


def page_links(endpoint_url: str, args: dict, next_cursor: str | None) -> dict:
    """`self` and (when there is more) `next` URLs of a cursor page."""
    keep = {k: v for k, v in args.items() if v not in (None, "") and k != "cursor"}
    links = {"self": request.url}
    if next_cursor:
        links["next"] = f"{endpoint_url}?{urlencode({**keep, 'cursor': next_cursor})}"
    return links


def link_header(links: dict) -> str:
    return ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())


class FixedWindowLimiter:
    """In-memory fixed windows of WINDOW_SECONDS: one process's view (a deployment
    with several workers allows up to workers × limit; enough to stop abuse)."""

    def __init__(self, limit: int, window: int = WINDOW_SECONDS):
        self.limit = limit
        self.window = window
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> tuple[bool, int, int]:
        """Count one request of `key`: (allowed, remaining, seconds to the next window)."""
        now = time.time() if now is None else now
        slot = int(now // self.window)
        with self._lock:
            if len(self._counts) > 100_000:
                self._counts = {k: v for k, v in self._counts.items() if k[1] == slot}
            count = self._counts.get((key, slot), 0) + 1
            self._counts[(key, slot)] = count
        reset = int((slot + 1) * self.window - now) + 1
        return count <= self.limit, max(self.limit - count, 0), reset


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def _before_request():
    if not request.path.startswith(API_PREFIX):
        return None
    request.max_content_length = min(MAX_BODY_BYTES, current_app.config.get("MAX_CONTENT_LENGTH") or MAX_BODY_BYTES)
    if request.content_length is not None and request.content_length > request.max_content_length:
        return problem(413, f"Le corps de la requête dépasse la taille maximale ({request.max_content_length // 1024} Ko).")
    limiter: FixedWindowLimiter | None = current_app.extensions["offre"].get("api_limiter")
    if limiter is None:
        return None
    keys = [f"ip:{request.remote_addr}"]
    token = _bearer()
    if token:
        keys.append("token:" + hashlib.sha256(token.encode()).hexdigest()[:16])
    remaining = limiter.limit
    for key in keys:
        allowed, left, reset = limiter.hit(key)
        remaining = min(remaining, left)
        if not allowed:
            who = "ce jeton" if key.startswith("token:") else "cette adresse IP"
            response = problem(
                429,
                f"Trop de requêtes pour {who} : {limiter.limit} par minute au plus. Réessayez dans {reset} s.",
            )
            response.headers["Retry-After"] = str(reset)
            return response
    request.environ["offre.rate_remaining"] = remaining
    return None


def _after_request(response):
    if not request.path.startswith(API_PREFIX):
        return response
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED
    if request.method == "OPTIONS":
        # Cross-origin reads only: writes come from partners' servers, not browsers.
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, If-None-Match, If-Modified-Since"
        response.headers["Access-Control-Max-Age"] = "86400"
    response.vary.add("Origin")
    limiter = current_app.extensions["offre"].get("api_limiter")
    if limiter is not None and "offre.rate_remaining" in request.environ:
        response.headers["X-RateLimit-Limit"] = str(limiter.limit)
        response.headers["X-RateLimit-Remaining"] = str(request.environ["offre.rate_remaining"])
    return response


def init_app(app, rate_limit_per_minute: int) -> None:
    app.extensions["offre"]["api_limiter"] = (
        FixedWindowLimiter(rate_limit_per_minute) if rate_limit_per_minute > 0 else None
    )
    app.before_request(_before_request)
    app.after_request(_after_request)

