"""The browser tests' shared fixture: Playwright driving Debian's chromium."""

import os

import pytest
from lab_server import CHROMIUM


def _in_ci():
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def sync_playwright():
    """Playwright's sync API, or a skip (a failure in CI) when it or Debian chromium is missing."""
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError:
        start = None
    missing = [
        name
        for name, ok in [("the playwright package", start), (str(CHROMIUM), CHROMIUM.exists())]
        if not ok
    ]
    if missing:
        reason = f"browser test needs {' and '.join(missing)} (.ci/run installs them)"
        if _in_ci():
            pytest.fail(f"{reason}; CI is set, so this must not be skipped")
        pytest.skip(reason)
    with start() as playwright:
        yield playwright
