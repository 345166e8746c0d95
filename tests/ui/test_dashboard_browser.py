"""The dashboard in a real Chromium against a real gateway: logging in, live numbers moving
after requests, a key created, edited and revoked from the page, a ledger search, hostile names
and prompts shown as text, no console errors, nothing fetched from elsewhere, and screenshots
at 1280 and 390 pixels wide (tests/ui/screenshots/)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.serve.dashboard_gateway import ADMIN_KEY, Board, dashboard_gateway
from tests.ui.conftest import SHOTS, Watch, watched_page

pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.sync_api").expect

XSS = "<img src=x onerror=\"alert('xss')\">"
TABS = ["overview", "spend", "routing", "keys", "ledger", "plan"]


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    with dashboard_gateway(tmp_path_factory.mktemp("ui-board"), failed_logins_per_minute=0) as b:
        for i in range(5):
            b.chat("auto", f"warm up {i}")
        b.chat(XSS, "an unknown model with a hostile name")  # 404, in the ledger as asked
        b.chat("auto", f"my prompt is {XSS}")
        b.wait_rows(7)
        yield b


@pytest.fixture
def dashboard(browser: object, board: Board) -> Iterator[Callable[[int], tuple[object, Watch]]]:
    """Log a fresh page in at a width; every page opened is checked for errors at the end."""
    opened: list[Watch] = []

    def open_page(width: int = 1280) -> tuple[object, Watch]:
        page, watch = watched_page(browser, width, (board.url,))
        opened.append(watch)
        page.goto(f"{board.url}/ui")
        page.wait_for_url(f"{board.url}/ui/login")
        page.fill("#admin-key", ADMIN_KEY)
        page.click("#login-button")
        # the page may have added its tab (#overview) before this looks: either is logged in
        page.wait_for_url(re.compile(re.escape(f"{board.url}/ui") + "(#.*)?$"))
        page.wait_for_selector("[data-card='Requests/s']")
        return page, watch

    yield open_page
    for watch in opened:
        watch.clean()
        assert all(d.startswith("Revoke ") for d in watch.dialogs), watch.dialogs


def card_requests(page: object) -> int:
    """The request count under the Requests/s card (``56 requests``)."""
    note = page.locator("[data-card='Requests/s'] + .note").inner_text()  # type: ignore[attr-defined]
    return int(note.split()[0].replace(",", ""))


def test_a_wrong_key_is_refused_on_the_login_page(browser: object, board: Board) -> None:
    page, watch = watched_page(browser, 1280, (board.url,))
    page.goto(f"{board.url}/ui/login")  # type: ignore[attr-defined]
    page.fill("#admin-key", "not-the-key")  # type: ignore[attr-defined]
    page.click("#login-button")  # type: ignore[attr-defined]
    page.wait_for_selector("#login-error:not([hidden])")  # type: ignore[attr-defined]
    assert "not the admin key" in page.inner_text("#login-error")  # type: ignore[attr-defined]
    assert page.context.cookies() == []  # type: ignore[attr-defined]
    # the 401 a wrong key gets is the one console error allowed here
    assert all("401" in e for e in watch.errors) and watch.external == []


def test_live_numbers_move_after_requests(dashboard: Callable, board: Board) -> None:
    page, _ = dashboard()
    before = card_requests(page)
    start = board.settle()
    for i in range(6):
        assert board.chat("auto", f"live {i}").status_code == 200
    board.wait_rows(start + 6)
    deadline = time.monotonic() + 15
    while card_requests(page) < before + 6:  # the page refreshes itself every 2 s
        assert time.monotonic() < deadline, (before, card_requests(page))
        time.sleep(0.25)
    assert page.locator("#live-chart canvas").count() >= 1
    groups = page.inner_text("#live-groups")
    assert "cheap" in groups and "remote" in groups


def test_keys_are_created_edited_and_revoked_from_the_page(
    dashboard: Callable, board: Board
) -> None:
    page, _ = dashboard()
    page.click("#tabs button[data-tab=keys]")
    page.fill("#key-name", XSS)
    page.fill("#key-models", "cheap, auto")
    page.fill("#key-budget", "5")
    page.select_option("#key-period", "daily")
    page.select_option("#key-private-data", "redact")
    page.click("#key-save")
    page.wait_for_selector("#new-key:not([hidden])")
    raw = page.inner_text("#new-key-value")
    assert raw.startswith("sk-yard-")
    assert board.chat("auto", "with the new key", key=raw).status_code == 200
    row = page.locator("#keys-table tr", has_text="sk-yard-")
    assert row.locator("td").first.inner_text() == XSS  # the name is text, never markup
    assert "/ day" in row.inner_text() and "redact" in row.inner_text()
    assert page.locator("img[src=x]").count() == 0
    key_id = next(k["id"] for k in board.get("/admin/keys")["data"] if k["name"] == XSS)
    page.click(f"[data-edit='{key_id}']")
    expect(page.locator("#key-period")).to_have_value("daily")  # the form shows the key
    expect(page.locator("#key-private-data")).to_have_value("redact")
    page.fill("#key-rpm", "42")
    page.select_option("#key-period", "monthly")
    page.select_option("#key-private-data", "")
    page.click("#key-save")
    expect(page.locator("#key-form-title")).to_have_text("New key")  # the form is reset
    edited = next(k for k in board.get("/admin/keys")["data"] if k["id"] == key_id)
    assert edited["rpm"] == 42 and edited["budget_usd"] == 5
    assert edited["budget_period"] == "monthly" and edited["private_data"] is None
    page.click(f"[data-revoke='{key_id}']")  # a confirm() the page watcher accepts
    page.wait_for_selector(f"[data-revoke='{key_id}']", state="detached")
    assert "revoked" in page.locator("#keys-table tr", has_text=key_id).inner_text()
    deadline = time.monotonic() + 5
    while board.chat("auto", "after revoking", key=raw).status_code != 401:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_ledger_search_and_a_row_with_its_prompt(dashboard: Callable, board: Board) -> None:
    page, _ = dashboard()
    page.click("#tabs button[data-tab=ledger]")
    expect(page.locator("#ledger-table tr[data-id]").first).to_be_visible()  # the tab's page
    page.select_option("#ledger-status", "errors")
    page.click("#ledger-search")
    badges = page.locator("#ledger-table tr[data-id] .badge")
    expect(badges.filter(has_text=re.compile(r"^[1-3]\d\d$"))).to_have_count(0)
    statuses = badges.all_inner_texts()
    assert statuses and all(int(s) >= 400 for s in statuses)
    assert XSS in page.inner_text("#ledger-table")  # the hostile model name, as text
    page.select_option("#ledger-status", "")
    page.select_option("#ledger-model", "auto")
    page.click("#ledger-search")
    expect(page.locator("#ledger-note")).to_contain_text("Page 1")
    row = page.locator("#ledger-table tr[data-id]", has_text="remote").first
    row.click()
    page.wait_for_selector("#ledger-detail:not([hidden])")
    detail = page.inner_text("#ledger-detail")
    assert "Route reason" in detail and "Request" in detail and "messages" in detail
    hostile = page.locator("#ledger-table tr[data-id]").filter(has_text="remote")
    assert hostile.count() >= 1 and page.locator("img[src=x]").count() == 0


@pytest.mark.parametrize("width", [1280, 390])
def test_every_tab_at_desktop_and_phone_width(dashboard: Callable, width: int) -> None:
    page, _ = dashboard(width)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for tab in TABS:
        page.click(f"#tabs button[data-tab={tab}]")
        page.wait_for_selector(f"#{tab}:not([hidden])")
        page.wait_for_timeout(600)  # the tab's first load
        page.screenshot(path=str(SHOTS / f"dashboard-{tab}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{tab} at {width} px is {overflow} px wider than the screen"
        assert not page.is_visible("#problem"), page.inner_text("#problem")


def test_the_session_cookie_is_http_only_and_strict(dashboard: Callable) -> None:
    page, _ = dashboard()
    (cookie,) = page.context.cookies()
    assert (
        cookie["name"] == "yard_session" and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    )
    assert page.evaluate("document.cookie") == ""  # scripts cannot read it
    page.click("#logout")
    page.wait_for_url("**/ui/login")
    assert httpx.get(page.url.replace("/ui/login", "/admin/stats")).status_code == 401
