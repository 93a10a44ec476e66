"""Fixtures of the data-layer tests: an isolated cache for every test, and a local HTTP server."""

from __future__ import annotations

import pytest
from fake_data_files import FileServer

from gdstudio.data import registry


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own empty download cache and an empty in-memory cache."""
    monkeypatch.setenv(registry.DATA_DIR_ENV, str(tmp_path_factory.mktemp("cache")))
    registry.forget()
    yield
    registry.forget()


@pytest.fixture
def file_server():
    server = FileServer()
    yield server
    server.close()
