"""From paper to live on the web page, in a real headless Chromium against a real
`desk serve` with two venues: `paper` (the default) and `live` (a second paper
broker here, with `requires_approval`). Alice's strategy runs on paper; she sees
its venue, its stage and the record a request carries, and requests live on the
page; the request shows as pending, with no approve button for her. An officer
(a token issued with --officer) signs in, sees the queue with the evidence,
approves; the strategy runs on live, and the page says so. Another request is
rejected with a reason typed on the page. Every table shows the venue. The admin
issues an officer's token and a member's live token on the page.
Screenshots go to $DESK_SCREENSHOTS (default .build/web-screenshots):
promotion-member.png (the member's strategies and request) and
promotion-approvals.png (the officer's queue)."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from conftest import chromedriver  # noqa: F401  (a fixture)
from selfservice import BUYER, CONFIG, SelfServiceDesk, tar_of, wait_for
from test_web_desk import Browser, browser, money  # noqa: F401  (browser: a fixture, on this module's desk)

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

VENUES_CONFIG = {
    **CONFIG,
    "venues": {"paper": {"broker": "paper"}, "live": {"broker": "paper", "requires_approval": True}},
    "default_venue": "paper",
}


@pytest.fixture(scope="module")
def desk() -> Iterator[SelfServiceDesk]:
    with tempfile.TemporaryDirectory(prefix="desk-promotion-") as folder:
        desk = SelfServiceDesk(Path(folder), VENUES_CONFIG)
        try:
            lines = desk.server.desk("tokens", "issue", "olivia", "--officer").stdout.splitlines()
            desk.tokens["olivia"] = lines[0].strip()
            yield desk
        finally:
            desk.stop()


def cells(browser: Browser, table: str, first: str) -> list:
    """The cells of the row of table `table` (its section's id) whose first cell is `first`."""
    rows = browser.script(
        "return Array.from(document.querySelectorAll(`#${arguments[0]} tbody tr`))"
        ".map(r => Array.from(r.cells).map(c => c.textContent));", table)
    return next((row for row in rows if row and row[0] == first), [])


def headers(browser: Browser, table: str) -> list:
    return browser.script(
        "return Array.from(document.querySelectorAll(`#${arguments[0]} thead th`)).map(h => h.textContent);", table)


def attribute_text(browser: Browser, attribute: str, name: str):
    return browser.script(
        "const e = document.querySelector(`[${arguments[0]}=\"${arguments[1]}\"]`); return e && e.textContent;",
        attribute, name)


def deployed(desk: SelfServiceDesk, member: str, name: str) -> str:
    code, reply = desk.deploy(member, name, tar_of({"strategy.py": BUYER}), start=True)
    assert code == 200, reply
    full = f"{member}--{name}"
    wait_for(lambda: desk.lines(full, "ORDER"), f"{full}'s order")
    return full


def approval_of(desk: SelfServiceDesk, strategy: str, status: str = "pending") -> dict:
    code, reply = desk.json("admin", "GET", "/approvals")
    assert code == 200, reply
    return next((a for a in reply["approvals"] if a["strategy"] == strategy and a["status"] == status), None)


def test_a_member_requests_live_and_an_officer_approves_it_on_the_page(desk, chromedriver, tmp_path):
    strategy = deployed(desk, "alice", "buyer")
    assert desk.status()[strategy]["venue"] == "paper"

    alice = Browser(chromedriver, desk, tmp_path / "alice")
    olivia = Browser(chromedriver, desk, tmp_path / "olivia")
    try:
        alice.sign_in("alice")
        assert alice.text("venue") == "paper"  # the book her token reads
        # The strategy's venue and stage, and the record a request would carry.
        wait_for(lambda: attribute_text(alice, "data-venue-of", strategy) == "paper", "the strategy's venue")
        assert attribute_text(alice, "data-stage-of", strategy) == "paper"
        wait_for(lambda: cells(alice, "promotion", strategy), "the strategy in Promotion")
        assert headers(alice, "promotion")[:9] == ["Strategy", "Venue", "Stage", "Days", "Orders", "Fills", "P&L",
                                                   "Max drawdown", "Sharpe"]
        wait_for(lambda: int(cells(alice, "promotion", strategy)[4]) >= 1, "its orders in the evidence")
        row = cells(alice, "promotion", strategy)
        assert row[1:3] == ["paper", "paper"], row
        assert int(row[5]) >= 1, row  # its fill on paper
        assert "cancels its open orders on paper; its positions stay in paper's book" in row[-1], row
        assert alice.button(f"promote-{strategy}-live").text == "Request live"
        # Every table names the venue.
        wait_for(lambda: "AAPL" in alice.text("positions"), "the position from the strategy's fill")
        assert "Venue" in headers(alice, "positions") and "Venue" in headers(alice, "orders")
        assert "Venue" in headers(alice, "strategies")
        position = cells(alice, "positions", "AAPL")
        assert position[headers(alice, "positions").index("Venue")] == "paper", position

        # Alice requests live: pending, and no approve button for her own request.
        alice.click(f"promote-{strategy}-live")
        wait_for(lambda: "Request live: done" in alice.text("status"), lambda: f"the request: {alice.text('status')}")
        pending = approval_of(desk, strategy)
        assert pending is not None and pending["to_venue"] == "live", pending
        request_id = pending["id"]
        wait_for(lambda: attribute_text(alice, "data-stage-of", strategy) == "pending approval to live",
                 "the strategy pending on the page")
        wait_for(lambda: cells(alice, "approvals", str(request_id)), "alice's own request in Approvals")
        assert not alice.button(f"approve-{request_id}") and not alice.button(f"reject-{request_id}")
        assert not alice.button(f"promote-{strategy}-live")
        assert f"Request {request_id} to live waits for an officer" in cells(alice, "promotion", strategy)[-1]
        alice.screenshot("promotion-member")

        # The officer sees the queue with the evidence, and approves.
        olivia.sign_in("olivia")
        wait_for(lambda: olivia.button(f"approve-{request_id}"), "the approve button in olivia's queue")
        queue = headers(olivia, "approvals")
        row = cells(olivia, "approvals", str(request_id))
        assert row[queue.index("Strategy")] == strategy and row[queue.index("Member")] == "alice", row
        assert (row[queue.index("From")], row[queue.index("To")]) == ("paper", "live"), row
        evidence = pending["evidence"]
        assert row[queue.index("Orders")] == str(evidence["orders"]), (row, evidence)
        assert row[queue.index("Fills")] == str(evidence["fills"]), (row, evidence)
        assert row[queue.index("Days")] == str(evidence["days"]), (row, evidence)
        assert row[queue.index("P&L")] in (money(evidence["pnl"], signed=True), "0.00"), (row, evidence)
        assert row[queue.index("Max drawdown")] == money(evidence["max_drawdown"]), (row, evidence)
        olivia.screenshot("promotion-approvals")
        olivia.click(f"approve-{request_id}")
        wait_for(lambda: desk.status()[strategy].get("venue") == "live", "the strategy moved to live")
        wait_for(lambda: "approved" in cells(olivia, "approvals", str(request_id))[queue.index("Status")],
                 "the request approved on olivia's page")
        assert not olivia.button(f"approve-{request_id}")

        # Alice's page shows the strategy on live, with a way back to paper.
        wait_for(lambda: attribute_text(alice, "data-venue-of", strategy) == "live", "the strategy on live")
        assert attribute_text(alice, "data-stage-of", strategy) == "live"
        wait_for(lambda: alice.button(f"promote-{strategy}-paper"), "the way back to paper")
        assert alice.button(f"promote-{strategy}-paper").text == "Back to paper"
        alice.screenshot("promotion-member-live")
    finally:
        alice.quit()
        olivia.quit()


def test_an_officer_rejects_with_a_reason_typed_on_the_page(desk, chromedriver, tmp_path):
    strategy = deployed(desk, "bob", "buyer")
    code, reply = desk.json("bob", "POST", f"/strategies/{strategy}/promote", {"venue": "live"})
    assert code < 300 and reply["status"] == "pending", reply
    request_id = reply["approval"]["id"]
    olivia = Browser(chromedriver, desk, tmp_path / "olivia")
    try:
        olivia.sign_in("olivia")
        wait_for(lambda: olivia.button(f"reject-{request_id}"), "the reject button")
        # Without a reason the desk refuses, in its own words.
        olivia.click(f"reject-{request_id}")
        wait_for(lambda: "Reject: " in olivia.text("status") and "reason" in olivia.text("status"),
                 lambda: f"the refusal on the page: {olivia.text('status')}")
        assert approval_of(desk, strategy) is not None
        olivia.driver.find_element(By.ID, f"reason-{request_id}").send_keys("two more weeks on paper")
        olivia.click(f"reject-{request_id}")
        wait_for(lambda: approval_of(desk, strategy, "rejected"), "the request rejected")
        assert approval_of(desk, strategy, "rejected")["reason"] == "two more weeks on paper"
        wait_for(lambda: "two more weeks on paper" in olivia.text("approvals"), "the reason on the page")
        assert desk.status()[strategy]["venue"] == "paper"
    finally:
        olivia.quit()


def test_a_member_sees_only_their_own_requests(desk, browser):
    strategy = deployed(desk, "bob", "other")
    code, reply = desk.json("bob", "POST", f"/strategies/{strategy}/promote", {"venue": "live"})
    assert code < 300 and reply["status"] == "pending", reply
    request_id = reply["approval"]["id"]
    browser.sign_in("carol")
    wait_for(lambda: browser.present("approvals"), "the approvals section")
    page = browser.text("approvals")
    assert strategy not in page and "No requests of yours" in page, page
    assert not cells(browser, "approvals", str(request_id))
    assert not browser.driver.find_elements(By.CSS_SELECTOR, "#approvals button")
    browser.driver.find_element(By.ID, "sign-out").click()
    wait_for(lambda: browser.present("sign-in"), "the sign-in page")
    browser.sign_in("bob")
    wait_for(lambda: cells(browser, "approvals", str(request_id)), "bob's own request")
    assert not browser.button(f"approve-{request_id}")


def test_the_admin_issues_an_officer_token_and_a_live_token_on_the_page(desk, browser):
    browser.sign_in("admin")
    wait_for(lambda: browser.present("issue-token"), "the token form")
    for member, kind, venue in (("oscar", "officer", ""), ("dana", "member", "live")):
        browser.driver.find_element(By.ID, "token-member").clear()
        browser.driver.find_element(By.ID, "token-member").send_keys(member)
        Select(browser.driver.find_element(By.ID, "token-kind")).select_by_visible_text(kind)
        browser.driver.find_element(By.ID, "token-venue").clear()
        browser.driver.find_element(By.ID, "token-venue").send_keys(venue)
        browser.driver.find_element(By.CSS_SELECTOR, "#issue-token button[type=submit]").click()
        wait_for(lambda: f"for {member} (shown once)" in browser.text("issued"), f"{member}'s token")
        desk.tokens[member] = browser.text("issued").rsplit(" ", 1)[-1]
    code, listed = desk.json("admin", "GET", "/admin/tokens")
    assert code == 200, listed
    by_member = {t["member"]: t for t in listed["tokens"]}
    assert by_member["oscar"]["role"] == "officer", by_member["oscar"]
    assert by_member["dana"]["venue"] == "live" and by_member["dana"]["role"] == "member", by_member["dana"]
    wait_for(lambda: cells(browser, "tokens", str(by_member["dana"]["id"])), "dana's token in the table")
    row = cells(browser, "tokens", str(by_member["dana"]["id"]))
    assert row[headers(browser, "tokens").index("Venue")] == "live", row
    # dana's page reads her live book; oscar's page is an officer's.
    code, who = desk.json("dana", "GET", "/session")
    assert code == 200 and who["member"] == "dana", who
    browser.driver.find_element(By.ID, "sign-out").click()
    wait_for(lambda: browser.present("sign-in"), "the sign-in page")
    browser.sign_in("dana")
    assert browser.text("venue") == "live"
