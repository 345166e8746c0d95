"""Debian's Chromium driven by Playwright (its own browser download cannot work here): a page
that records console errors, page errors, dialogs and every request leaving the allowed
origins, so each test can assert there were none."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LAUNCH_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
SHOTS = Path(os.environ.get("YARD_SCREENSHOTS", Path(__file__).parent / "screenshots"))
"""Where the screenshots go (look at them: tests/ui/screenshots/ is not committed)."""


def chromium_path() -> str:
    found = os.environ.get("YARD_CHROMIUM") or shutil.which("chromium")
    found = found or shutil.which("chromium-headless-shell")
    if not found:
        pytest.skip('Chromium not found: eval "$(scripts/chromium.sh)" installs it (CI does)')
    return found


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    path = chromium_path()
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=LAUNCH_FLAGS)
        yield launched
        launched.close()


@dataclass
class Watch:
    """What a page did that a test must see none of."""

    allowed: tuple[str, ...]
    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def console(self, message: object) -> None:
        if getattr(message, "type", "") in ("error", "warning"):
            self.errors.append(f"console {message.type}: {message.text}")  # type: ignore[attr-defined]

    def request(self, request: object) -> None:
        url = getattr(request, "url", "")
        if not url.startswith(self.allowed):
            self.external.append(url)

    def clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.external == [], self.external


def watched_page(browser: object, width: int, allowed: tuple[str, ...]) -> tuple[object, Watch]:
    """A fresh page (its own cookies) at ``width`` px, watched."""
    context = browser.new_context(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    watch = Watch(allowed=(*allowed, "data:", "about:"))
    page.on("console", watch.console)
    page.on("pageerror", lambda error: watch.errors.append(f"page error: {error}"))
    page.on("request", watch.request)
    page.on("dialog", lambda dialog: (watch.dialogs.append(dialog.message), dialog.accept()))
    return page, watch
