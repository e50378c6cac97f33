"""Fixtures shared by the project's tests: the bundled CSMS on an ephemeral loopback port in a thread."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.session import BundledCsms


@pytest.fixture
def bundled_csms(tmp_path: Path) -> Iterator[BundledCsms]:
    """The bundled CSMS with a fresh SQLite file, for tests whose stations run in other processes or loops; its
    API takes ``Authorization: Bearer <server.api_token>``."""
    server = BundledCsms(tmp_path / "csms.sqlite3", api_token=secrets.token_urlsafe(16))
    server.start()
    try:
        yield server
    finally:
        server.stop()
