"""Real Chromium, driven by Playwright: one browser for the session, a fresh context per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.runtime.conftest import cluster, home  # noqa: F401 - shared fixtures of the runtime tests

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Chromium is missing: run the tests with `make test`, which installs it.")
    return found


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for the browser tests; closed after them, as Playwright's sync API holds the
    event loop while it runs (the Jupyter server tests that follow need it)."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    opened = browser.new_context(viewport={"width": 1200, "height": 1000})
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots the tests leave for people to look at (test-artifacts/, not committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
