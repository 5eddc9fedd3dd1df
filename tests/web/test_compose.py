"""The compose file's shape (issue 17, point 1): every process of the service, the
commands they run exist in the CLI, healthchecks, restarts, secrets from files only,
the demo only on request; the Procfile runs the same processes."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from web.cli import build_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _offre_commands(command) -> list[list[str]]:
    """The `offre …` invocations of a service's command (list or shell script)."""
    if isinstance(command, list) and command[:1] == ["offre"]:
        return [command[1:]]
    if not command:
        return []
    script = command[-1] if isinstance(command, list) else command
    found = []
    for line in script.splitlines():
        words = shlex.split(line.replace(";", " ; "))
        for i, word in enumerate(words):
            if word == "offre":
                args = []
                for w in words[i + 1:]:
                    if w in (";", "fi", "&&", "||"):
                        break
                    args.append(w)
                found.append(args)
    return found


def _exists(cli, args) -> bool:
    command = cli
    for word in args:
        if word.startswith("-"):
            break
        if not hasattr(command, "commands"):
            break
        if word not in command.commands:
            return False
        command = command.commands[word]
    return True


def test_every_process_of_the_service_is_there(compose):
    services = compose["services"]
    assert set(services) == {"postgis", "meilisearch", "setup", "app", "search-worker", "scheduler"}
    assert services["app"]["command"] == ["offre", "serve", "--bind", "0.0.0.0:5000"]
    assert services["search-worker"]["command"] == ["offre", "search", "worker"]
    assert services["scheduler"]["command"] == ["offre", "schedule"]
    for name in ("postgis", "meilisearch", "app", "search-worker", "scheduler"):
        assert services[name]["restart"] in ("unless-stopped", "always"), name
    assert services["setup"]["restart"] == "no"


def test_setup_builds_everything_and_the_demo_only_on_request(compose):
    setup = compose["services"]["setup"]
    script = setup["command"][-1]
    steps = [" ".join(args[:2]) for args in _offre_commands(setup["command"])]
    assert steps == ["db upgrade", "geo load", "search keys", "demo load", "search rebuild", "doctor"]
    assert 'if [ "$$DEMO" = 1 ]; then offre demo load' in script
    assert setup["environment"]["DEMO"] == "${DEMO:-0}"
    assert setup["depends_on"] == {"postgis": {"condition": "service_healthy"},
                                   "meilisearch": {"condition": "service_healthy"}}
    for name in ("app", "search-worker", "scheduler"):
        assert compose["services"][name]["depends_on"] == {
            "setup": {"condition": "service_completed_successfully"}}


def test_every_offre_command_of_the_stack_exists():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    cli = build_cli()
    seen = 0
    for name, service in compose["services"].items():
        for args in _offre_commands(service.get("command", [])):
            assert _exists(cli, args), (name, args)
            seen += 1
    assert seen == 9
    assert not _exists(cli, ["search", "nulle-part"])


def test_healthchecks(compose):
    services = compose["services"]
    assert "pg_isready" in services["postgis"]["healthcheck"]["test"][1]
    assert "7700/health" in services["meilisearch"]["healthcheck"]["test"][1]
    app_check = services["app"]["healthcheck"]
    assert "/healthz" in " ".join(app_check["test"]) and app_check["start_period"]


def test_secrets_come_from_files_never_from_the_file_itself(compose):
    text_ = (ROOT / "docker-compose.yml").read_text()
    env = compose["x-app-env"]
    for name in ("DATABASE_URL", "SECRET_KEY", "METRICS_TOKEN"):
        assert name not in env and env[f"{name}_FILE"].startswith("/run/secrets/")
    assert "POSTGRES_PASSWORD:" not in text_ and "MEILI_MASTER_KEY:" not in text_
    assert not re.search(r"(PASSWORD|SECRET|KEY|TOKEN)\s*:\s*[\"']?[A-Za-z0-9]{8,}", text_)
    assert set(compose["secrets"]) == {"db_password", "database_url", "secret_key",
                                       "meili_master_key", "metrics_token"}
    # The scoped keys: read for the app, write for the worker and the scheduler.
    keys = {n: compose["services"][n]["environment"]["MEILISEARCH_KEY_FILE"]
            for n in ("app", "search-worker", "scheduler")}
    assert keys == {"app": "/run/offre-keys/meilisearch-search.key",
                    "search-worker": "/run/offre-keys/meilisearch-write.key",
                    "scheduler": "/run/offre-keys/meilisearch-write.key"}
    assert "meili_master_key" not in compose["services"]["app"]["secrets"]
    assert env["TRUSTED_PROXIES"] == "${TRUSTED_PROXIES:-1}"
    assert env["SESSION_COOKIE_SECURE"] == "true"


def test_the_procfile_runs_the_same_processes():
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name] = shlex.split(command)
    assert set(entries) == {"web", "search-worker", "scheduler"}
    cli = build_cli()
    for command in entries.values():
        assert command[0].endswith("offre") and _exists(cli, command[1:])
    assert entries["search-worker"][1:] == ["search", "worker"]
    assert entries["scheduler"][1:] == ["schedule"]
