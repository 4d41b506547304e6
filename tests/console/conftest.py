from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.console.support import CHROMIUM, CHROMIUM_ARGS
from tests.support.services import skip_missing


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (browsers cannot be downloaded here)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_missing("Playwright", "not installed (pip install -e '.[dev]')")
    if not os.access(CHROMIUM, os.X_OK):
        skip_missing("chromium", f"no executable at {CHROMIUM}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) whose dialogs are recorded and accepted."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.dialogs = []  # type: ignore[attr-defined]

    def accept(dialog: Any) -> None:
        opened.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.accept()

    opened.on("dialog", accept)
    opened.set_default_timeout(30_000)
    try:
        yield opened
    finally:
        context.close()
