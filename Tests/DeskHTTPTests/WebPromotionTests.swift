import DeskAPI
import DeskBroker
import DeskCore
import DeskIdentity
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import DeskHTTP

/// The page's promotion pieces as pure values: a strategy's stage and the
/// moves offered for it, and what the approvals queue shows whom.
@Suite("Web desk promotions")
struct WebPromotionTests {
    static let venues = WebVenues(names: ["paper", "sim", "live"], defaultVenue: "paper", needingApproval: ["live"])

    static func request(
        id: Int64 = 7, member: String = "alice", strategy: String = "alice--trend", to: String = "live",
        status: PromotionStatus = .pending, decidedBy: String? = nil, reason: String? = nil, backtest: String? = nil
    ) -> PromotionRequest {
        PromotionRequest(
            id: id, member: member, strategy: strategy, fromVenue: "paper", toVenue: to, requestedBy: member,
            requestedAt: Date(timeIntervalSince1970: 1_700_000_000),
            evidence: PromotionEvidence(
                venue: "paper", days: 6, orders: 31, fills: 24, pnl: Decimal(string: "125.5")!,
                maxDrawdown: Decimal(string: "40.25")!, sharpe: Decimal(string: "1.234")!, backtest: backtest),
            status: status, decidedBy: decidedBy, reason: reason)
    }

    struct StageCase: Sendable, CustomTestStringConvertible {
        var venue: String
        var pending: PromotionRequest?
        var stage: String
        var moves: [String]
        var testDescription: String { "\(venue.isEmpty ? "(default)" : venue) → \(stage)" }
    }

    @Test(
        "a strategy's stage and the moves offered: a request where approval is needed, back to the default, a move elsewhere",
        arguments: [
            StageCase(venue: "paper", pending: nil, stage: "paper", moves: ["Move to sim", "Request live"]),
            StageCase(venue: "", pending: nil, stage: "paper", moves: ["Move to sim", "Request live"]),
            StageCase(venue: "live", pending: nil, stage: "live", moves: ["Back to paper", "Move to sim"]),
            StageCase(venue: "sim", pending: nil, stage: "paper", moves: ["Back to paper", "Request live"]),
            StageCase(
                venue: "paper", pending: WebPromotionTests.request(), stage: "pending approval to live",
                moves: ["Move to sim"]),
            StageCase(
                venue: "paper", pending: WebPromotionTests.request(status: .rejected, decidedBy: "olivia"),
                stage: "paper", moves: ["Move to sim", "Request live"]),
        ])
    func stages(_ row: StageCase) {
        let choices = PromotionChoices(venue: row.venue, pending: row.pending, venues: Self.venues)
        #expect(choices.stageText == row.stage)
        #expect(choices.moves.map(\.label) == row.moves)
        #expect(choices.moves.allSatisfy { $0.needsApproval == ($0.venue == "live") })
        #expect(choices.venue == (row.venue.isEmpty ? "paper" : row.venue))
    }

    @Test("a desk with one venue offers no moves")
    func singleVenue() {
        let one = WebVenues(names: ["alpaca"], defaultVenue: "alpaca", needingApproval: [])
        #expect(one.isSingle)
        #expect(PromotionChoices(venue: "", pending: nil, venues: one).moves.isEmpty)
        #expect(!Self.venues.isSingle)
    }

    struct QueueCase: Sendable, CustomTestStringConvertible {
        var caller: Caller
        var approveButton: Bool
        var ownNote: Bool
        var testDescription: String { "\(caller.member) (\(caller.role.rawValue))" }
    }

    @Test(
        "the approvals queue: an officer or the admin decides other members' requests; a member gets no buttons",
        arguments: [
            QueueCase(caller: Caller(member: "olivia", role: .officer), approveButton: true, ownNote: false),
            QueueCase(caller: Caller(member: "admin", role: .admin), approveButton: true, ownNote: false),
            QueueCase(caller: Caller(member: "alice", role: .member), approveButton: false, ownNote: false),
            QueueCase(caller: Caller(member: "alice", role: .officer), approveButton: false, ownNote: true),
        ])
    func queue(_ row: QueueCase) {
        let html = WebDesk.approvalsHTML([Self.request()], caller: row.caller)
        #expect(html.contains("data-name=\"approve-7\"") == row.approveButton)
        #expect(html.contains("data-name=\"reject-7\"") == row.approveButton)
        #expect(html.contains("data-reason=\"reason-7\"") == row.approveButton)
        #expect(html.contains("id=\"reason-7\"") == row.approveButton)
        #expect(html.contains("Your own request") == row.ownNote)
        #expect(html.contains("data-path=\"/approvals/7/approve\"") == row.approveButton)
        // The evidence is in the row whoever looks.
        for figure in [">6<", ">31<", ">24<", "+125.50", "40.25", "1.23"] { #expect(html.contains(figure)) }
    }

    @Test("decided requests show who decided and why, without buttons; pending ones come first")
    func decided() throws {
        let officer = Caller(member: "olivia", role: .officer)
        let html = WebDesk.approvalsHTML(
            [
                Self.request(id: 3, status: .rejected, decidedBy: "olivia", reason: "only <3> days"),
                Self.request(id: 9, strategy: "bob--mean", status: .pending),
                Self.request(
                    id: 2, status: .approved, decidedBy: "admin",
                    backtest: BacktestEvidence(
                        path: "/reports/bt-2026-12-01", end: "2026-12-01T21:00:00Z", orders: 40, fills: 38,
                        totalPnL: "310.2", maxDrawdown: "55", sharpe: "1.8"
                    ).stored),
            ], caller: officer)
        #expect(html.contains("rejected</span> by olivia<br><small>only &lt;3&gt; days</small>"))
        #expect(html.contains("approved</span> by admin"))
        #expect(!html.contains("approve-3") && !html.contains("approve-2") && html.contains("approve-9"))
        #expect(
            html.contains(
                "title=\"/reports/bt-2026-12-01\">bt-2026-12-01</code> P&amp;L <span class=\"gain\">+310.20</span>"))
        #expect(html.contains("drawdown 55.00, Sharpe 1.8"))
        let order = ["data-approval-status=\"9\"", "data-approval-status=\"3\"", "data-approval-status=\"2\""].map {
            html.range(of: $0)?.lowerBound
        }
        let found = try order.map { try #require($0) }
        #expect(found == found.sorted())
    }

    @Test("the queue shows every pending request and the newest decided ones only")
    func decidedCap() {
        let decided = (1...30).map { Self.request(id: Int64($0), status: .approved, decidedBy: "olivia") }
        let html = WebDesk.approvalsHTML(
            decided + [Self.request(id: 99)], caller: Caller(member: "olivia", role: .officer))
        #expect(html.components(separatedBy: "data-approval-status=").count - 1 == WebDesk.decidedShown + 1)
        #expect(html.contains("approve-99"))
    }

    @Test("the promotion table: the evidence the request will carry, a button per move, and what a move does")
    func promotion() {
        let strategies = [
            StrategyStatus(name: "alice--trend", member: "alice", state: .running),
            StrategyStatus(name: "alice--<b>", member: "alice", state: .stopped),
        ]
        let html = WebDesk.promotionHTML(
            strategies, venueOf: ["alice--trend": "paper", "alice--<b>": "live"],
            evidence: ["alice--trend": Self.request().evidence], pending: [:], venues: Self.venues,
            caller: Caller(member: "alice", venue: "paper"))
        #expect(html.contains("data-name=\"promote-alice--trend-live\">Request live</button>"))
        #expect(html.contains("data-body=\"{&quot;venue&quot;:&quot;live&quot;}\""))
        #expect(html.contains("data-path=\"/strategies/alice--trend/promote\""))
        #expect(html.contains("Back to paper</button>"))
        #expect(html.contains("cancels its open orders on paper; its positions stay in paper's book"))
        #expect(html.contains("+125.50") && html.contains(">24<"))
        #expect(!html.contains("<b>") && html.contains("alice--&lt;b&gt;"))
        let waiting = WebDesk.promotionHTML(
            [strategies[0]], venueOf: ["alice--trend": "paper"], evidence: [:],
            pending: ["alice--trend": Self.request()], venues: Self.venues, caller: Caller(member: "alice"))
        #expect(waiting.contains("pending approval to live"))
        #expect(waiting.contains("Request 7 to live waits for an officer"))
        #expect(html.contains("shows your book on paper (your token's venue)"))
        #expect(!waiting.contains("Request live"))
    }
}

/// The page as the router serves it: a desk of one venue as before, a desk of two with
/// the venue in the header and the Promotion and Approvals sections.
@Suite("Web desk venues through the router")
struct WebVenuePageTests {
    /// The page `token`'s session gets.
    func page(_ harness: DeskHarness, token: String) async throws -> String {
        let signedIn = try await harness.client.execute(
            uri: "/session", method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(string: #"{"token": "\#(token)"}"#))
        #expect(signedIn.status == .ok)
        let cookie = String((signedIn.headers[.setCookie] ?? "").split(separator: ";")[0])
        let page = try await harness.client.execute(uri: "/", method: .get, headers: [.cookie: cookie], body: nil)
        #expect(page.status == .ok)
        return String(buffer: page.body)
    }

    @Test("a desk of one venue: no stage, no Promotion or Approvals, no venue in the header")
    func oneVenue() async throws {
        try await DeskHarness.run { harness in
            let html = try await page(harness, token: try await harness.token("alice"))
            #expect(!html.contains("id=\"promotion\"") && !html.contains("id=\"approvals\""))
            #expect(!html.contains("id=\"venue\""))
        }
    }

    @Test("a desk of two venues: the header names the token's venue; an officer's badge; both sections")
    func twoVenues() async throws {
        try await DeskHarness.run(configure: {
            $0.venues = [
                VenueConfiguration(name: "paper", settings: PaperVenue.Settings()),
                VenueConfiguration(name: "live", settings: PaperVenue.Settings(), requiresApproval: true),
            ]
        }) { harness in
            let alice = try await page(harness, token: try await harness.token("alice"))
            #expect(alice.contains("on <strong id=\"venue\">paper</strong>"))
            #expect(alice.contains("id=\"promotion\"") && alice.contains("id=\"approvals\""))
            #expect(alice.contains("No requests of yours"))
            #expect(!alice.contains("id=\"leaderboard\""))
            let live = try await harness.app.ledger.issueToken(member: "alice", venue: "live").secret
            #expect(try await page(harness, token: live).contains("on <strong id=\"venue\">live</strong>"))
            let officer = try await harness.app.ledger.issueToken(member: "olivia", isOfficer: true).secret
            let olivia = try await page(harness, token: officer)
            #expect(olivia.contains("<span class=\"badge\">officer</span>"))
            #expect(olivia.contains("No promotion requests."))
            #expect(olivia.contains("id=\"leaderboard\"") && !olivia.contains("id=\"tokens\""))
            #expect(olivia.contains("id=\"health\"") && olivia.contains("data-name=\"halt-desk\""))
            #expect(olivia.contains("<dt>Venues</dt><dd>paper, live (approval)</dd>"))
            #expect(!olivia.contains("data-name=\"reconcile\"") && !olivia.contains("Reconciliation:"))
            // The officer's queue comes first, a member's after their Promotion table.
            #expect(olivia.range(of: "id=\"approvals\"")!.lowerBound < olivia.range(of: "id=\"account\"")!.lowerBound)
            #expect(alice.range(of: "id=\"approvals\"")!.lowerBound > alice.range(of: "id=\"promotion\"")!.lowerBound)
        }
    }
}
