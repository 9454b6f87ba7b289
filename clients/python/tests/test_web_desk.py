"""The web desk in a real headless Chromium (Debian's chromium and
chromium-driver, installed by scripts/browser-env.sh when missing), driven by
selenium against a real `desk serve`: a member signs in with a token, sees the
P&L and positions the API reports, sees a fill arrive without a reload, stops
and starts a strategy, deploys a folder; another member sees none of it; the
admin halts a member; signing out (or revoking the token) kills the session.
Screenshots of the main views go to $DESK_SCREENSHOTS (default
.build/web-screenshots)."""
from __future__ import annotations

import os
import subprocess
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Iterator

import pytest

from conftest import REPO, chromedriver, headless_chromium  # noqa: F401  (chromedriver: a fixture)
from selfservice import BUYER, SelfServiceDesk, serve, strategy_folder, tar_of, wait_for

SCREENSHOTS = Path(os.environ.get("DESK_SCREENSHOTS") or REPO / ".build" / "web-screenshots")

from selenium.webdriver.common.by import By


@pytest.fixture(scope="module")
def desk() -> Iterator[SelfServiceDesk]:
    yield from serve("desk-web-")


class Browser:
    """One Chromium with its own profile: one person's browser."""

    def __init__(self, driver_path: str, desk: SelfServiceDesk, profile: Path, width: int = 1280, height: int = 1700):
        self.driver = headless_chromium(driver_path, profile, width, height)
        self.desk = desk

    def open(self, path: str = "/") -> None:
        self.driver.get(self.desk.url + path)

    def sign_in(self, member: str) -> None:
        self.open("/")
        self.driver.find_element(By.ID, "token").send_keys(self.desk.tokens[member])
        self.driver.find_element(By.ID, "sign-in-button").click()
        wait_for(lambda: self.present("account"), f"{member}'s desk after signing in")
        wait_for(lambda: self.script("return document.getElementById('live-state').dataset.live") == "1",
                 "the live updates to connect")

    def present(self, element_id: str) -> bool:
        return bool(self.driver.find_elements(By.ID, element_id))

    def text(self, element_id: str) -> str:
        elements = self.driver.find_elements(By.ID, element_id)
        return elements[0].text if elements else ""

    def script(self, code: str, *arguments):
        return self.driver.execute_script(code, *arguments)

    def figure(self, label: str) -> str:
        return self.script(
            "const e = document.querySelector(`dd[data-figure=\"${arguments[0]}\"]`); return e ? e.textContent : null;",
            label)

    def position(self, symbol: str) -> list:
        """The cells of the positions table's row for `symbol`."""
        rows = self.script("return Array.from(document.querySelectorAll('#positions tbody tr'))"
                           ".map(r => Array.from(r.cells).map(c => c.textContent));")
        return next((cells for cells in rows if cells[0] == symbol), [])

    def button(self, name: str):
        found = self.driver.find_elements(By.CSS_SELECTOR, f'button[data-name="{name}"]')
        return found[0] if found else None

    def click(self, name: str) -> None:
        wait_for(lambda: self.button(name), f"the button {name}")
        self.script("arguments[0].click()", self.button(name))

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def quit(self) -> None:
        self.driver.quit()


@pytest.fixture
def browser(chromedriver, desk, tmp_path) -> Iterator[Browser]:
    browser = Browser(chromedriver, desk, tmp_path / "profile")
    try:
        yield browser
    finally:
        browser.quit()


def money(text: str, signed: bool = False) -> str:
    """How the page shows an amount: two decimals, gains with a plus sign."""
    value = Decimal(text).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    shown = f"{value:.2f}"
    return f"+{shown}" if signed and value > 0 else shown


def place_order(desk: SelfServiceDesk, member: str, qty: str = "1") -> str:
    code, reply = desk.json(member, "POST", "/order", {"symbol": "AAPL", "qty": qty, "side": "buy",
                                                      "order_type": "market"})
    assert code == 201 and reply["status"] == "success", reply
    return reply["order_id"]


def test_a_member_sees_their_desk_and_a_fill_arrive_without_reloading(desk, browser, laptop_folder):
    place_order(desk, "alice", "2")
    code, reply = desk.deploy("alice", "buyer", tar_of({"strategy.py": BUYER}), start=True)
    assert code == 200, reply
    wait_for(lambda: desk.lines("alice--buyer", "ORDER"), "alice--buyer's order")

    browser.sign_in("alice")
    assert browser.text("member") == "alice"
    # What the API reports is what the page shows.
    code, positions = desk.json("alice", "GET", "/positions")
    assert code == 200
    aapl = next(p for p in positions["positions"] if p["symbol"] == "AAPL")
    wait_for(lambda: "AAPL" in browser.text("positions"), "the AAPL position on the page")
    shown = browser.position("AAPL")
    assert Decimal(shown[1]) == Decimal(aapl["qty"]), (shown, aapl)
    assert shown[2] == money(aapl["avg_entry_price"]), (shown, aapl)
    code, account = desk.json("alice", "GET", "/account")
    wait_for(lambda: browser.figure("Cash used") == money(account["cash_used"]), "cash used as the API says")
    assert browser.figure("Realized") in (money(account["realized_pnl"], signed=True), "0.00")
    assert browser.figure("Total P&L")[0] in "+-0", browser.figure("Total P&L")
    wait_for(lambda: browser.driver.find_elements(By.CSS_SELECTOR, "#equity svg"), "the equity curve")
    browser.screenshot("member-desk")

    # A fill appears without a reload.
    browser.script("window.stillTheSamePage = true;")
    order_id = place_order(desk, "alice")
    wait_for(lambda: order_id in browser.script("return document.getElementById('orders').innerHTML;"),
             "the new order on the page")
    assert browser.script("return window.stillTheSamePage === true;")
    grown = Decimal(desk.json("alice", "GET", "/positions")[1]["positions"][0]["qty"])
    assert grown >= Decimal(aapl["qty"]) + 1  # (alice--buyer buys again if anything restarted it)
    wait_for(lambda: Decimal(browser.position("AAPL")[1]) == grown,
             lambda: f"the position to grow by the fill to {grown}: the page shows {browser.position('AAPL')}")

    # Stop and start a strategy.
    browser.click("stop-alice--buyer")
    wait_for(lambda: desk.state("alice--buyer") == "stopped", "alice--buyer stopped")
    wait_for(lambda: "stopped" in browser.text("strategies"), "the page to show it stopped")
    browser.click("start-alice--buyer")
    wait_for(lambda: desk.state("alice--buyer") == "running", "alice--buyer running")
    wait_for(lambda: browser.script(
        "const e = document.querySelector('[data-state-of=\"alice--buyer\"]'); return e && e.textContent;")
        == "running", "the page to show it running")
    # Its live log tail.
    browser.click("logs-alice--buyer")
    wait_for(lambda: "READY" in browser.text("log"), "alice--buyer's log on the page")

    # Deploy a folder chosen in the page.
    browser.driver.find_element(By.ID, "deploy-name").send_keys("fromweb")
    browser.driver.find_element(By.ID, "deploy-folder").send_keys(str(laptop_folder))
    browser.driver.find_element(By.ID, "deploy-button").click()
    wait_for(lambda: "Deployed alice--fromweb" in browser.text("status"), "the deploy to be confirmed")
    assert (desk.strategies / "alice--fromweb" / "helpers" / "signal.py").is_file()
    wait_for(lambda: "alice--fromweb" in browser.text("strategies"), "the new strategy on the page")
    wait_for(lambda: desk.state("alice--fromweb") == "running", "alice--fromweb running")
    assert browser.script("return window.stillTheSamePage === true;")
    browser.screenshot("member-strategies")

    # The page never loaded anything but the desk's own files, and holds no token.
    resources = browser.script("return performance.getEntriesByType('resource').map(e => e.name);")
    assert all(url.startswith(desk.url + "/") for url in resources), resources
    assert desk.tokens["alice"] not in browser.driver.page_source
    assert browser.script("return document.cookie;") == ""
    cookie = next(c for c in browser.driver.get_cookies() if c["name"] == "desk_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict", cookie
    assert desk.tokens["alice"] not in desk.server.log_text(10_000)


@pytest.fixture(scope="module")
def laptop_folder(desk) -> Path:
    return strategy_folder(desk.folder / "laptop", "fromweb", config={"symbols": ["AAPL"]},
                           extra={"helpers/signal.py": "THRESHOLD = 1\n"})


def test_another_member_sees_none_of_the_first_ones_data(desk, browser):
    browser.sign_in("bob")
    assert browser.text("member") == "bob"
    page = browser.driver.page_source
    assert "alice--buyer" not in page and "alice--fromweb" not in page
    for order_id, in desk.server.ledger("SELECT order_id FROM orders WHERE member = 'alice'"):
        assert order_id not in page and order_id[-8:] not in page
    assert "No positions." in browser.text("positions")
    assert not browser.present("leaderboard")
    # A desk with one venue has nothing to promote to: no promotion or approvals sections.
    assert not browser.present("promotion") and not browser.present("approvals")
    # Bob's session asking for alice's data from the page's own origin gets nothing.
    statuses = browser.script("""
        const csrf = document.querySelector('meta[name="csrf-token"]').content;
        const asks = [
          fetch('/strategies/alice--buyer/logs'),
          fetch('/strategies/stop', {method: 'POST', headers: {'X-CSRF-Token': csrf, 'Content-Type': 'application/json'},
                                     body: JSON.stringify({names: ['alice--buyer']})}).then(r => r.json()),
          fetch('/pnl?member=alice'),
          fetch('/admin/strategies'),
        ];
        return Promise.all(asks).then(r => [r[0].status, r[1].results[0].ok, r[2].status, r[3].status]);
        """)
    assert statuses == [404, False, 403, 403], statuses
    assert desk.state("alice--buyer") == "running"
    browser.screenshot("other-member")


def test_the_admin_sees_everyone_and_halts_a_member(desk, browser):
    browser.sign_in("admin")
    wait_for(lambda: browser.present("leaderboard") and "alice" in browser.text("leaderboard"), "the leaderboard")
    assert "bob" in browser.text("leaderboard")
    # The column that says whether a member may trade is named for it (it was "Orders", over "trading").
    headers = browser.script("return Array.from(document.querySelectorAll('#leaderboard th')).map(t => t.textContent);")
    rows = browser.script("return Array.from(document.querySelectorAll('#leaderboard tbody tr'))"
                          ".map(r => Array.from(r.cells).map(c => c.textContent));")
    assert "Orders" not in headers and all(row[headers.index("Trading")] == "trading" for row in rows), (headers, rows)
    assert "alice--buyer" in browser.text("strategies")
    browser.screenshot("admin-desk")
    browser.click("halt-alice")
    wait_for(lambda: "HALTED" in browser.text("leaderboard"), "alice halted on the page")
    code, halts = desk.json("admin", "GET", "/admin/halts")
    assert code == 200 and [h["scope"] for h in halts["halts"]] == ["alice"], halts
    code, reply = desk.json("alice", "POST", "/order", {"symbol": "AAPL", "qty": "1", "side": "buy",
                                                       "order_type": "market"})
    assert code >= 400 and reply["status"] == "error", reply
    browser.click("resume-alice")
    wait_for(lambda: desk.json("admin", "GET", "/admin/halts")[1]["halts"] == [], "alice resumed")

    # The whole desk, too.
    browser.click("halt-desk")
    wait_for(lambda: [h["scope"] for h in desk.json("admin", "GET", "/admin/halts")[1]["halts"]] == ["*"]
             or "HALTED" in browser.text("health"), "the whole desk halted")
    wait_for(lambda: "HALTED" in browser.text("health"), "the page to show the desk halted")
    code, reply = desk.json("bob", "POST", "/order", {"symbol": "AAPL", "qty": "1", "side": "buy",
                                                     "order_type": "market"})
    assert code >= 400 and reply["status"] == "error", reply
    browser.click("resume-desk")
    wait_for(lambda: desk.json("admin", "GET", "/admin/halts")[1]["halts"] == [], "the desk resumed")

    # Issuing a token on the page: the secret is shown once and works.
    browser.driver.find_element(By.ID, "token-member").send_keys("erin")
    browser.driver.find_element(By.CSS_SELECTOR, "#issue-token button[type=submit]").click()
    wait_for(lambda: "shown once" in browser.text("issued"), "the issued token")
    secret = browser.text("issued").rsplit(" ", 1)[-1]
    desk.tokens["erin"] = secret
    code, who = desk.json("erin", "GET", "/session")
    assert code == 200 and who["member"] == "erin" and who["admin"] is False, who
    token_id = next(t["id"] for t in desk.json("admin", "GET", "/admin/tokens")[1]["tokens"] if t["member"] == "erin")
    browser.click(f"revoke-{token_id}")
    wait_for(lambda: desk.json("erin", "GET", "/session")[0] == 401, "erin's token revoked from the page")


def test_a_member_cancels_a_working_order_on_the_page(desk, browser):
    code, reply = desk.json("alice", "POST", "/order", {"symbol": "AAPL", "qty": "1", "side": "buy",
                                                       "order_type": "limit", "limit_price": "1.00",
                                                       "time_in_force": "gtc"})
    assert code == 201 and reply["status"] == "success", reply
    order_id = reply["order_id"]
    browser.sign_in("alice")
    browser.click(f"cancel-{order_id}")
    wait_for(lambda: desk.json("alice", "GET", f"/orders/{order_id}")[1]["status"] == "canceled",
             "the order canceled")
    wait_for(lambda: not browser.button(f"cancel-{order_id}"), "the cancel button gone from the page")


def session_cookie(browser: Browser) -> str:
    return next(c["value"] for c in browser.driver.get_cookies() if c["name"] == "desk_session")


def with_cookie(desk: SelfServiceDesk, cookie: str, method: str = "GET", path: str = "/session",
                headers: dict = None) -> int:
    return desk.call(None, method, path, b"{}" if method != "GET" else None,
                     headers={"Cookie": f"desk_session={cookie}", **(headers or {})})[0]


def test_signing_out_kills_the_session_and_state_changes_need_the_csrf_value(desk, browser):
    browser.sign_in("bob")
    cookie = session_cookie(browser)
    assert with_cookie(desk, cookie) == 200
    # The cookie alone cannot change anything: another site cannot send the page's CSRF value.
    assert with_cookie(desk, cookie, "POST", "/strategies/stop") == 403
    csrf = browser.script("return document.querySelector('meta[name=\"csrf-token\"]').content;")
    assert with_cookie(desk, cookie, "POST", "/strategies/stop",
                       {"X-CSRF-Token": csrf, "Origin": "https://evil.example"}) == 403
    assert with_cookie(desk, cookie, "POST", "/strategies/stop", {"X-CSRF-Token": csrf}) == 200
    browser.driver.find_element(By.ID, "sign-out").click()
    wait_for(lambda: browser.present("sign-in"), "the sign-in page after signing out")
    assert with_cookie(desk, cookie) == 401
    browser.open("/")
    assert browser.present("sign-in")


def test_revoking_the_token_ends_its_web_sessions(desk, browser):
    code, issued = desk.json("admin", "POST", "/admin/tokens", {"member": "dave"})
    assert code == 200, issued
    desk.tokens["dave"] = issued["secret"]
    browser.sign_in("dave")
    cookie = session_cookie(browser)
    code, reply = desk.json("admin", "DELETE", f"/admin/tokens/{issued['token']['id']}")
    assert code == 200 and reply["revoked"] is True, reply
    wait_for(lambda: browser.present("sign-in"), "the page to sign itself out")
    assert with_cookie(desk, cookie) == 401


def test_the_page_fits_a_phone_screen(chromedriver, desk, tmp_path):
    phone = Browser(chromedriver, desk, tmp_path / "phone", width=390, height=844)
    try:
        phone.sign_in("alice")
        overflow = phone.script("return document.documentElement.scrollWidth - window.innerWidth;")
        assert overflow <= 1, overflow
        phone.screenshot("member-phone")
    finally:
        phone.quit()


def test_a_member_submits_a_backtest_from_the_page_and_opens_its_report(desk, browser, tmp_path):
    """The Backtests form: one of the member's deployed strategies over a data file chosen in the
    browser (sent base64 in POST /backtests, with the page's CSRF value), queued, run, and its
    report linked in the Backtests section once completed."""
    code, _ = desk.deploy("alice", "webtest", tar_of({"strategy.py": "import sys\nfor line in sys.stdin:\n    pass\n",
                                                       "config.json": '{"symbols": ["AAPL"]}'}))
    assert code in (200, 201), code
    data = tmp_path / "ticks.jsonl"
    data.write_text("".join(
        f'{{"ts":"2026-11-16T14:{31 + i:02d}:00Z","symbol":"AAPL","price":"19{i}.00"}}\n' for i in range(5)))
    browser.sign_in("alice")
    browser.driver.find_element(By.ID, "backtest-strategy").send_keys("webtest")
    browser.driver.find_element(By.ID, "backtest-upload").send_keys(str(data))
    browser.script("arguments[0].click()", browser.driver.find_element(By.ID, "backtest-button"))
    wait_for(lambda: "Backtest bt-" in browser.text("status"), "the page to say the backtest was queued")
    backtest_id = browser.text("status").split()[1]
    wait_for(lambda: browser.script(
        "const s = document.querySelector(`[data-backtest-status=\"${arguments[0]}\"]`); return s && s.textContent;",
        backtest_id) == "completed", "the backtest to complete on the page", seconds=120)
    links = browser.script("return Array.from(document.querySelectorAll('#backtests a')).map(a => a.getAttribute('href'));")
    report = f"/backtests/{backtest_id}/files/report.html"
    assert report in links, links
    browser.open(report)
    assert "webtest" in browser.driver.page_source
    browser.open("/")
    wait_for(lambda: browser.present("backtest"), "the desk again")
    browser.driver.find_element(By.ID, "backtest-strategy").send_keys("webtest")
    browser.script("arguments[0].click()", browser.driver.find_element(By.ID, "backtest-button"))
    wait_for(lambda: "choose a data file" in browser.text("status"), "the page to ask for data")
