"""`offre search keys` (issue 17, point 1): the read and write keys created once from
the master key, with the scopes each process needs; `offre doctor` refuses an
administration key for the app. Against a loopback server answering Meilisearch's
/keys routes as documented (no Meilisearch binary on this machine)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from search.meilisearch_ import KEY_UIDS, ensure_keys, key_can_administer
from web.cli import build_cli

MASTER = "cle-maitresse-de-test-0123456789"


class _Keys(BaseHTTPRequestHandler):
    store: dict = {}
    created: list = []

    def log_message(self, *args):
        pass

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _master(self):
        if self.headers.get("Authorization") != f"Bearer {MASTER}":
            self._answer(403, {"message": "The provided API key is invalid.", "code": "invalid_api_key",
                               "type": "auth", "link": "https://docs.meilisearch.com/errors#invalid_api_key"})
            return False
        return True

    def do_GET(self):
        if self.path == "/health":
            return self._answer(200, {"status": "available"})
        if not self._master():
            return None
        if self.path.startswith("/keys/"):
            uid = self.path.rsplit("/", 1)[1]
            if uid in self.store:
                return self._answer(200, self.store[uid])
            return self._answer(404, {"message": f"API key `{uid}` not found.", "code": "api_key_not_found",
                                      "type": "invalid_request", "link": ""})
        if self.path.startswith("/keys"):
            return self._answer(200, {"results": list(self.store.values()), "offset": 0, "limit": 20,
                                      "total": len(self.store)})
        return self._answer(404, {})

    def do_POST(self):
        if self.path == "/indexes/services/search":
            given = self.headers.get("Authorization", "").removeprefix("Bearer ")
            allowed = given == MASTER or any(
                k["key"] == given and "search" in k["actions"] for k in self.store.values())
            if not allowed:
                return self._master()
            return self._answer(200, {"hits": [], "query": "", "processingTimeMs": 0, "limit": 0,
                                      "offset": 0, "estimatedTotalHits": 0})
        if not self._master():
            return None
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        # Meilisearch derives a key from its uid and the master key (HMAC-SHA256).
        key = hmac.new(MASTER.encode(), body["uid"].encode(), hashlib.sha256).hexdigest()
        record = {**body, "key": key, "createdAt": "2026-12-05T00:00:00.123456Z",
                  "updatedAt": "2026-12-05T00:00:00.123456Z"}
        self.store[body["uid"]] = record
        self.created.append(body)
        return self._answer(201, record)


@pytest.fixture
def meili():
    _Keys.store, _Keys.created = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_keys_created_once_with_their_scopes(meili):
    keys = ensure_keys(meili, MASTER, "services")
    assert set(keys) == {"search", "write"} and keys["search"] != keys["write"]
    created = {c["uid"]: c for c in _Keys.created}
    search = created[str(KEY_UIDS["search"])]
    write = created[str(KEY_UIDS["write"])]
    assert search["actions"] == ["search"] and search["indexes"] == ["services"]
    assert "documents.*" in write["actions"] and "tasks.get" in write["actions"]
    assert write["indexes"] == ["services", "services_rebuild"]
    assert "keys.*" not in write["actions"] and "*" not in write["actions"]
    assert search["expiresAt"] is None
    # Again: the same keys, nothing created.
    assert ensure_keys(meili, MASTER, "services") == keys
    assert len(_Keys.created) == 2
    assert not key_can_administer(meili, keys["search"])
    assert key_can_administer(meili, MASTER)


def test_cli_writes_the_keys_and_doctor_refuses_the_master_key(app, meili, tmp_path):
    ext = app.extensions["offre"]
    ext["settings"] = ext["settings"].replace(meilisearch_url=meili, meilisearch_master_key=MASTER)
    runner = app.test_cli_runner()
    result = runner.invoke(build_cli(), ["search", "keys", "--write-dir", str(tmp_path / "cles")])
    assert result.exit_code == 0, result.output
    read_key = (tmp_path / "cles" / "meilisearch-search.key").read_text().strip()
    assert oct(os.stat(tmp_path / "cles" / "meilisearch-write.key").st_mode & 0o777) == "0o640"
    assert read_key == ensure_keys(meili, MASTER, "services")["search"]

    ext["settings"] = ext["settings"].replace(search_backend="meilisearch", meilisearch_key=MASTER)
    doctor = runner.invoke(build_cli(), ["doctor"])
    assert "✗  MEILISEARCH_KEY : clé d'administration" in doctor.output
    ext["settings"] = ext["settings"].replace(meilisearch_key=read_key)
    doctor = runner.invoke(build_cli(), ["doctor"])
    assert "ok MEILISEARCH_KEY : clé restreinte" in doctor.output

    ext["settings"] = ext["settings"].replace(meilisearch_master_key="")
    missing = runner.invoke(build_cli(), ["search", "keys"])
    assert missing.exit_code != 0 and "MEILISEARCH_MASTER_KEY" in missing.output


def test_healthz_queries_meilisearch_with_the_apps_key(app, meili):
    from web.search_ import use_settings

    keys = ensure_keys(meili, MASTER, "services")
    ext = app.extensions["offre"]
    base = ext["settings"].replace(search_backend="meilisearch", meilisearch_url=meili)
    client = app.test_client()
    use_settings(app, base.replace(meilisearch_key=keys["search"]))
    body = client.get("/healthz").get_json()
    assert body["search"] == {"status": "ok", "backend": "meilisearch"}
    # A key that may not search (here: the write key) is seen, not just a server up.
    use_settings(app, base.replace(meilisearch_key=keys["write"]))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["search"]["status"] == "degraded"
    assert response.get_json()["search"]["answering"] == "postgres"
