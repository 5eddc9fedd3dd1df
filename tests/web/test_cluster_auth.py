"""The private cluster of `make run` (bin/pgcluster): durable by default, closed to
other OS users (peer authentication, socket directory 0700), and clusters made by
older versions of the script (trust, durability off) brought to these rules."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _pg(*args, data):
    # OFFRE_PG_DURABLE unset: the default, what `make run` gets.
    env = {k: v for k, v in os.environ.items() if k != "OFFRE_PG_DURABLE"}
    env["OFFRE_PG_DATA"] = str(data)
    out = subprocess.run(
        [str(ROOT / "bin/pgcluster"), *args], env=env, check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def _psql_bin() -> str:
    versions = sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: [int(x) for x in v.split(".")])
    return f"/usr/lib/postgresql/{versions[-1]}/bin/psql"


def _sql(sock, query, *, user=None):
    cmd = [_psql_bin(), "-h", sock, "-U", "postgres", "-qAtc", query, "postgres"]
    if user:
        cmd = ["runuser", "-u", user, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, cwd="/")


@pytest.fixture
def own_cluster():
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("needs the private cluster binaries (TEST_DATABASE_URL given)")
    if os.geteuid() != 0:
        pytest.skip("runs another OS user's client with runuser: needs root")
    data = ROOT / "var" / f"pg-auth-{os.getpid()}"
    _pg("start", data=data)
    yield data
    _pg("stop", data=data)
    target = data.resolve()
    shutil.rmtree(target, ignore_errors=True)
    if data.is_symlink():
        data.unlink()
    Path(f"{data}.log").unlink(missing_ok=True)


def _state(data):
    sock = _pg("socket", data=data)
    result = _sql(
        sock,
        "select current_setting('fsync') || ',' || current_setting('full_page_writes') || ','"
        " || current_setting('synchronous_commit');"
        " select string_agg(auth_method, ',') from pg_hba_file_rules",
    )
    assert result.returncode == 0, result.stderr
    durability, methods = result.stdout.split()
    return sock, durability, methods


def test_another_os_user_cannot_connect_and_data_is_durable(own_cluster):
    sock, durability, methods = _state(own_cluster)
    assert durability == "on,on,on"
    assert methods == "peer"
    assert oct(os.stat(sock).st_mode & 0o777) == "0o700"
    refused = _sql(sock, "select 1", user="nobody")
    assert refused.returncode != 0
    assert "Permission denied" in refused.stderr or "authentication failed" in refused.stderr
    # Even with the directory opened by hand, the socket and peer authentication refuse.
    os.chmod(sock, 0o755)
    try:
        assert _sql(sock, "select 1", user="nobody").returncode != 0
    finally:
        os.chmod(sock, 0o700)


def test_an_old_trusting_fast_cluster_is_brought_to_the_rules(own_cluster):
    data = own_cluster.resolve()
    # What the earlier script left: trust for everyone, durability off in postgresql.conf.
    (data / "pg_hba.conf").write_text("local all all trust\n")
    (data / "offre-mode.conf").unlink()
    conf = (data / "postgresql.conf").read_text().replace(
        "include_if_exists = 'offre-mode.conf'\n", ""
    )
    (data / "postgresql.conf").write_text(
        conf + "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
    )
    _pg("restart", data=own_cluster)
    _, durability, methods = _state(own_cluster)
    assert durability == "on,on,on"
    assert methods == "peer"
    assert "fsync = off" not in (data / "postgresql.conf").read_text()


def test_the_test_cluster_alone_turns_durability_off(pg_server_url):
    from sqlalchemy import create_engine, text

    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("the test server is not the private cluster")
    engine = create_engine(pg_server_url)
    with engine.connect() as conn:
        assert conn.scalar(text("show fsync")) == "off"
    engine.dispose()
