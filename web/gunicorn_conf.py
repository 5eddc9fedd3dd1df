"""gunicorn's configuration for `offre serve` (`-c python:web.gunicorn_conf`), from
the settings: workers, deliberate timeouts, JSON logs, and the Prometheus
multiprocess directory cleaned of dead workers' files."""

from __future__ import annotations

import gc
import os

from web.logs import dict_config
from web.settings import Settings

_settings = Settings.from_env()

workers = _settings.web_workers
# A request longer than this is cut (the worker restarted): the slowest pages (PDF
# export of a long list) take a few seconds on a 2-core machine.
timeout = _settings.web_timeout_s
graceful_timeout = 30
keepalive = 5
# Workers are replaced now and then (a slow leak never grows without bound); not too
# often: each replaced worker leaves its counters' file in the metrics directory.
max_requests = 10000
max_requests_jitter = 1000
logconfig_dict = dict_config(_settings.log_format)
# Requests are logged by the app itself (web/observability.py, with a request id).
accesslog = None
# No control socket (gunicorn ≥ 24 writes one under $HOME, not writable in the image).
control_socket_disable = True


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """The app is loaded in this worker: what it holds from now to its end (modules,
    templates, vocabulary, the settings) is moved out of the garbage collector's
    reach (gc.freeze), so that a full collection scans only what requests created.
    Measured on the 100,000-service benchmark catalogue (bench/pages.py): a full
    collection took 82 ms over 245,000 objects, 15 ms over 80,000 once frozen; those
    pauses made the slowest results pages (107 – 121 ms, now 44 – 55 ms)."""
    gc.collect()
    gc.freeze()
