"""Wiring for the project's own tests: fixtures only. No hooks and nothing that runs at import beyond these
definitions, so ``pytest scenarios/...`` runs of users (the plugin comes from the ``pytest11`` entry point) are
untouched."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from csms.pki import PkiFiles


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> PkiFiles:
    """A complete test PKI (the layout of ``ocpp-harness certs``), written once per session: generating RSA keys
    is slow. Read-only for the tests that share it."""
    from csms.pki import write_test_pki

    return write_test_pki(tmp_path_factory.mktemp("pki"))
