"""Fixtures of the accounts tests: a local SMTP server (aiosmtpd) that the app
sends to, and helpers to read the links of the e-mails it received."""

from __future__ import annotations

import email
import re
import socket
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    @property
    def messages(self):
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]

    def wait(self, count: int = 1, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while len(self.envelopes) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.envelopes) >= count, f"{len(self.envelopes)} e-mail(s) received, {count} expected"
        return self.messages

    def last_to(self, address: str):
        for envelope, message in zip(reversed(self.envelopes), reversed(self.messages), strict=True):
            if address in envelope.rcpt_tos:
                return message
        raise AssertionError(f"no e-mail to {address}; received: {[e.rcpt_tos for e in self.envelopes]}")

    def link(self, address: str, path_prefix: str) -> str:
        """The path (from path_prefix on) of the link in the last e-mail to `address`."""
        body = self.last_to(address).get_content()
        match = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"\S+)", body)
        assert match, f"no {path_prefix} link in: {body}"
        return match.group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox():
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture
def settings(settings, inbox):
    return settings.replace(smtp_host="127.0.0.1", smtp_port=inbox.port, base_url="http://offre.test")
