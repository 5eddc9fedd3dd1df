"""Point 8 of the foundation: the app survives a PostgreSQL restart. Uses its own
throw-away cluster, so the other tests never see the restart."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from web.app import create_app
from web.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _pg(*args, data):
    env = {**os.environ, "OFFRE_PG_DATA": str(data), "OFFRE_PG_DURABLE": "0"}
    out = subprocess.run([str(ROOT / "bin/pgcluster"), *args], env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip()


@pytest.fixture
def own_cluster():
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("needs the private cluster binaries (TEST_DATABASE_URL given)")
    data = ROOT / "var" / f"pg-restart-{os.getpid()}"
    _pg("start", data=data)
    _pg("createdb", "offre", data=data)
    url = _pg("url", "offre", data=data)
    from alembic import command

    from web.commands.base import alembic_config

    command.upgrade(alembic_config(url), "head")
    yield url, data
    _pg("stop", data=data)
    target = data.resolve()
    shutil.rmtree(target, ignore_errors=True)
    if data.is_symlink():
        data.unlink()
    Path(str(data) + ".log").unlink(missing_ok=True)


def test_requests_during_a_restart_get_503_then_succeed(own_cluster):
    url, data = own_cluster
    app = create_app(Settings(database_url=url, secret_key="x", tiles_url="", offre_env="test"))
    client = app.test_client()
    assert client.get("/").status_code == 200

    _pg("stop", data=data)
    down = client.get("/")
    assert down.status_code == 503
    assert "Réessayez" in down.get_data(as_text=True)
    assert down.headers["Retry-After"] == "5"
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["database"]["status"] == "down"

    _pg("start", data=data)
    assert client.get("/").status_code == 200
    assert client.get("/healthz").get_json()["status"] == "ok"
