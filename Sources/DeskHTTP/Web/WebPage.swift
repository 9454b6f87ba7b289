import DeskAPI
import DeskIdentity

/// The web desk's two documents: the sign-in form, and the desk itself (its
/// live sections, the deploy form, and for an admin the leaderboard, health and
/// tokens). Scripts and styles come from `/assets/`, nothing from elsewhere;
/// the page never holds a token, only the session's CSRF value.
enum WebPage {
    static func head(_ extra: String = "") -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Desk</title>\(extra)
        <link rel="stylesheet" href="/assets/desk.css">
        <script src="/assets/desk.js" defer></script>
        </head>
        """
    }

    /// The sign-in form (a token in a password field, posted by the script as JSON).
    static func signIn() -> String {
        head()
            + """
            <body class="signin"><main>
            <h1>Desk</h1>
            <form id="sign-in" autocomplete="off">
            <label for="token">Your token</label>
            <input id="token" name="token" type="password" autocomplete="off" required spellcheck="false">
            <button type="submit" id="sign-in-button">Sign in</button>
            <p id="status" role="status" aria-live="polite"></p>
            <p class="hint">The desk's admin issues tokens (<code>desk tokens issue &lt;member&gt;</code>). Your session lasts until you sign out, it expires, or the token is revoked.</p>
            </form></main></body></html>
            """
    }

    static func section(_ title: String, _ id: String, _ sections: [WebDesk.Section], after: String = "") -> String {
        let html = sections.first { $0.id == id }?.html ?? ""
        return
            "<section aria-labelledby=\"h-\(id)\"><h2 id=\"h-\(id)\">\(HTML.escape(title))</h2><div id=\"\(id)\" class=\"live\">\(html)</div>\(after)</section>"
    }

    /// The desk for `caller`; `venue` (on a desk of several venues) is the venue whose book the page shows.
    static func desk(caller: Caller, csrf: String, sections: [WebDesk.Section], venue: String? = nil) -> String {
        var body = head("\n<meta name=\"csrf-token\" content=\"\(HTML.escape(csrf))\">")
        body +=
            "<body><header><h1>Desk</h1><p>Signed in as <strong id=\"member\">\(HTML.escape(caller.member))</strong>"
        body += caller.role == .member ? "" : " <span class=\"badge\">\(caller.role.rawValue)</span>"
        body += venue.map { " on <strong id=\"venue\">\(HTML.escape($0))</strong>" } ?? ""
        body += "</p><button type=\"button\" id=\"sign-out\">Sign out</button></header>"
        body +=
            "<p id=\"status\" role=\"status\" aria-live=\"polite\"></p><p id=\"live-state\" class=\"hint\">connecting…</p><main>"
        let promotes = sections.contains { $0.id == "promotion" }
        // Deciding requests is an officer's first job: their queue comes first.
        if promotes && caller.oversees { body += section("Approvals", "approvals", sections) }
        body += section("Account", "account", sections)
        body += section("Equity", "equity", sections)
        body += section("Positions", "positions", sections)
        body += section("Orders", "orders", sections)
        body += section("Strategies", "strategies", sections, after: deployForm)
        // On a desk of several venues: moving a strategy between them, and the requests that wait for an officer.
        if promotes {
            body += section("Promotion", "promotion", sections)
            if !caller.oversees { body += section("Approvals", "approvals", sections) }
        }
        if sections.contains(where: { $0.id == "backtests" }) {
            body += section("Backtests", "backtests", sections, after: backtestForm)
        }
        body += section("Log", "log", sections)
        if caller.oversees {
            body += section("Leaderboard", "leaderboard", sections)
            body += section("Desk health", "health", sections)
        }
        if caller.isAdmin {
            body += section("Tokens", "tokens", sections, after: tokenForm)
        }
        return body + "</main></body></html>"
    }

    static let deployForm = """
        <form id="deploy" class="tool">
        <h3>Deploy a strategy</h3>
        <label for="deploy-name">Name</label><input id="deploy-name" name="name" required pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]*" placeholder="trend">
        <label for="deploy-folder">Folder</label><input id="deploy-folder" type="file" webkitdirectory multiple>
        <label for="deploy-files">or files</label><input id="deploy-files" type="file" multiple>
        <label class="check"><input id="deploy-start" type="checkbox" checked> start it</label>
        <button type="submit" id="deploy-button">Deploy</button>
        <p class="hint">A folder with strategy.py (and config.json); a new version of a strategy you have replaces it, the old one is kept to roll back to.</p>
        </form>
        """

    /// Submits `POST /backtests` (the same call as desk_client.backtest): one of the
    /// member's deployed strategies over a data file sent with it, a data file the desk
    /// holds, or the feed it recorded; a sweep and walk-forward if given.
    static let backtestForm = """
        <form id="backtest" class="tool">
        <h3>Run a backtest</h3>
        <label for="backtest-strategy">Strategy (one you deployed)</label><input id="backtest-strategy" required pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]*" placeholder="trend">
        <label for="backtest-upload">Data file (.jsonl, .ndjson or .csv)</label><input id="backtest-upload" type="file" accept=".jsonl,.ndjson,.csv">
        <label for="backtest-file">or a data file the desk holds</label><input id="backtest-file" placeholder="aapl-2026.jsonl">
        <label for="backtest-recorded">or the recorded feed, from:to</label><input id="backtest-recorded" placeholder="2026-11-16:2026-11-18">
        <label for="backtest-sweep">Sweep (SWEEP.json, optional)</label><textarea id="backtest-sweep" rows="2" placeholder='{"grid": {"WINDOW": ["10", "20"]}}'></textarea>
        <label for="backtest-walk-forward">Walk-forward (optional)</label><input id="backtest-walk-forward" placeholder="train=60d,test=20d">
        <label for="backtest-rank-by">Rank by</label><select id="backtest-rank-by"><option>total_pnl</option><option>sharpe</option><option>sortino</option><option>calmar</option><option>max_drawdown</option></select>
        <button type="submit" id="backtest-button">Submit</button>
        <p class="hint">It runs in the desk's queue, on paper, in the same sandbox as your live strategies; its reports appear above.</p>
        </form>
        """

    static let tokenForm = """
        <form id="issue-token" class="tool">
        <h3>Issue a token</h3>
        <label for="token-member">Member</label><input id="token-member" required>
        <label for="token-strategy">Strategy (optional)</label><input id="token-strategy">
        <label for="token-kind">Kind</label><select id="token-kind"><option>member</option><option>officer</option><option>admin</option><option>metrics</option></select>
        <label for="token-venue">Venue (a member's; optional: the default venue)</label><input id="token-venue">
        <button type="submit">Issue</button>
        <output id="issued" aria-live="polite"></output>
        </form>
        """
}
