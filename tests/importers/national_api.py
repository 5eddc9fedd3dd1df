"""A stand-in for the national data·inclusion API, served on a loopback port by
pytest-httpserver: the routes, filters, paging, answers and token check of the
real one (gip-inclusion/data-inclusion, api/), over the records of
tests/data/importers/di-api-*.json, with faults to inject."""

from __future__ import annotations

import copy
import json
import math
import re

from werkzeug import Request, Response

from tests.importers.conftest import DATA

TOKEN = "jeton-api-de-test"
WIDGET_TOKEN = "jeton-widget-de-test"  # a valid token without the "api" scope
MAX_PAGE_SIZE = 10_000


def _json(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers or {},
                    content_type="application/json")


class FakeNationalApi:
    def __init__(self):
        self.structures = json.loads((DATA / "di-api-structures.json").read_text(encoding="utf-8"))
        self.services = json.loads((DATA / "di-api-services.json").read_text(encoding="utf-8"))
        # (path, page or structure id) → statuses answered, one per request, before the real answer.
        self.faults: dict[tuple[str, object], list[int]] = {}
        self.retry_after = "0"
        self.log: list[tuple[str, dict]] = []

    # --- set-up helpers ----------------------------------------------------

    def service(self, national_id: str) -> dict:
        return next(s for s in self.services if s["id"] == national_id)

    def remove_service(self, national_id: str) -> None:
        self.services = [s for s in self.services if s["id"] != national_id]

    def requests_of(self, path: str, page: int | None = None, **query) -> int:
        """Requests received for `path` (and `page`, and these query values)."""
        return sum(1 for p, q in self.log if p == path and (page is None or q.get("page") == str(page))
                   and all(q.get(k) == v for k, v in query.items()))

    # --- the API -------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path.removeprefix("/api/v1")
        query = {k: (v if len(v) > 1 else v[0]) for k, v in request.args.lists()}
        self.log.append((path, query))
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return _json({"detail": "Not authenticated"}, 403)
        token = auth.removeprefix("Bearer ")
        if token == WIDGET_TOKEN:
            return _json({"detail": "Forbidden"}, 403)
        if token != TOKEN:
            return _json({"detail": "Unauthorized"}, 401)
        detail = re.fullmatch(r"/structures/(.+)", path)
        key = (path if not detail else "/structures/{id}",
               int(query.get("page", 1)) if not detail else detail.group(1))
        pending = self.faults.get(key)
        if pending:
            status = pending.pop(0)
            headers = {"Retry-After": self.retry_after} if status == 429 else {}
            return _json({"detail": "Too Many Requests" if status == 429 else "Internal Server Error"},
                         status, headers)
        if detail:
            return self._detail(detail.group(1))
        if path == "/structures":
            return self._page(self._filter(self.structures, query), query)
        if path == "/services":
            return self._page(self._filter(self.services, query), query)
        return _json({"detail": "Not Found"}, 404)

    @staticmethod
    def _filter(records: list[dict], query: dict) -> list[dict]:
        out = records
        if "code_departement" in query:
            out = [r for r in out if (r.get("code_insee") or "").startswith(query["code_departement"])]
        if "modes_accueil" in query:
            wanted = query["modes_accueil"]
            wanted = [wanted] if isinstance(wanted, str) else wanted
            out = [r for r in out if set(wanted) & set(r.get("modes_accueil") or [])]
        if "sources" in query:
            sources = query["sources"]
            sources = [sources] if isinstance(sources, str) else sources
            out = [r for r in out if r["source"] in sources]
        return sorted(out, key=lambda r: r["id"])

    @staticmethod
    def _page(records: list[dict], query: dict) -> Response:
        try:
            page, size = int(query.get("page", 1)), int(query.get("size", 5000))
        except ValueError:
            return _json({"detail": [{"type": "int_parsing", "loc": ["query", "page"]}]}, 422)
        if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
            return _json({"detail": [{"type": "less_than_equal", "loc": ["query", "size"]}]}, 422)
        items = records[size * (page - 1): size * page]
        return _json({"items": copy.deepcopy(items), "total": len(records), "page": page,
                      "size": len(items), "pages": math.ceil(len(records) / size)})

    def _detail(self, national_id: str) -> Response:
        found = next((s for s in self.structures if s["id"] == national_id), None)
        if found is None:
            return _json({"detail": "Not Found"}, 404)
        body = {k: v for k, v in found.items()}
        body["doublons"] = []
        body["services"] = [s for s in self.services if s["structure_id"] == national_id]
        return _json(body)
