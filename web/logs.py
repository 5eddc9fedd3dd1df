"""Logging of the processes (`offre serve`, `offre search worker`, `offre schedule`…):
one JSON object per line (python-json-logger) when LOG_FORMAT=json, for a log
collector; plain text otherwise."""

from __future__ import annotations

import logging
import sys

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
        )
    return logging.Formatter(TEXT)


def dict_config(fmt: str) -> dict:
    """A logging.config.dictConfig for gunicorn (its logconfig_dict)."""
    factory = (
        {"()": "pythonjsonlogger.json.JsonFormatter",
         "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
         "rename_fields": {"asctime": "ts", "levelname": "level", "name": "logger"}}
        if fmt == "json" else {"format": TEXT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": factory},
        "handlers": {"out": {"class": "logging.StreamHandler", "formatter": "main",
                             "stream": "ext://sys.stderr"}},
        "root": {"level": "INFO", "handlers": ["out"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["out"], "propagate": False},
            "gunicorn.access": {"level": "WARNING", "handlers": ["out"], "propagate": False},
        },
    }


def configure(fmt: str, level: int = logging.INFO) -> None:
    """The root logger of a command: to stderr, in `fmt`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
