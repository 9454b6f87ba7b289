import DeskAPI
import DeskBroker
import DeskCore
import DeskIdentity
import DeskMarketData
import DeskRunner
import DeskServices
import Foundation

/// The web desk's page, rendered on the server: the sections a caller may see,
/// each an HTML fragment with an id, from the same ledger, broker and
/// supervisor the API answers from. The page at `/` is these sections in one
/// document; a live page receives each one again whenever it changes.
struct WebDesk: Sendable {
    let portfolio: Portfolio
    let switches: KillSwitches
    let tokens: TokenAdministration
    /// Where orders go (the default venue): the page asks it what it can do.
    let venue: any Venue
    /// The desk's venues as the page names them.
    let venues: WebVenues
    /// Moving strategies between venues: the requests a caller sees, a strategy's record.
    let promotions: Promotions
    let feed: FeedHub
    let strategies: MemberStrategyController
    let calendar: SessionCalendar
    /// Members' submitted backtests (nil: the desk runs none).
    var backtests: Backtests? = nil

    /// One part of the page: its element id and its HTML.
    struct Section: Sendable, Equatable {
        var id: String
        var html: String
    }

    /// The live sections `caller` sees; `log` is the strategy whose log tail to show.
    func sections(for caller: Caller, log: String?) async throws -> [Section] {
        let member = caller.member
        let holdings = try await portfolio.positions(for: caller, member: member, byStrategy: false)
        let open = try await portfolio.orders(for: caller, OrderQuery(member: member, status: .open, limit: 50))
        let recent = try await portfolio.orders(for: caller, OrderQuery(member: member, status: .all, limit: 20))
        let valuation = AccountValuation(positions: holdings.map(\.record), lastPrice: portfolio.lastPrice)
        let account = AccountView(member: member, valuation: valuation, openOrders: open.count)
        let today = try await todayPnL(member: member, total: valuation.totalPnL, caller: caller)
        let history = try await portfolio.history(
            for: caller, member: member, strategy: nil, since: Date().addingTimeInterval(-86_400), stepSeconds: 60)
        var sections = [
            Section(
                id: "account",
                html: accountHTML(account, today: today, drawdown: ExactDecimal.plain(history.maxDrawdown))),
            Section(id: "equity", html: HTML.equityChart(Self.curve(history), label: "Equity of \(member)")),
            Section(id: "positions", html: positionsHTML(holdings)),
            Section(id: "orders", html: ordersHTML(open: open, recent: recent)),
        ]
        let reply = try? await strategies.visible(to: caller)
        let own = (reply?.strategies ?? []).filter { $0.member == member || caller.isAdmin }
        let venueOf = Dictionary(own.map { ($0.name, $0.venue ?? "") }, uniquingKeysWith: { first, _ in first })
        let requests = venues.isSingle ? [] : try await promotions.list(caller: caller)
        let pending = Dictionary(
            requests.filter { $0.status == .pending }.map { ($0.strategy, $0) }, uniquingKeysWith: { first, _ in first }
        )
        sections.append(
            Section(id: "strategies", html: strategiesHTML(reply, own: own, venueOf: venueOf, pending: pending)))
        if !venues.isSingle {
            let mine = own.filter { $0.member == member }
            var evidence: [String: PromotionEvidence] = [:]
            for strategy in mine {
                evidence[strategy.name] = try await promotions.evidence(
                    member: member, strategy: strategy.name, on: venues.shown(venueOf[strategy.name] ?? ""))
            }
            sections.append(
                Section(
                    id: "promotion",
                    html: Self.promotionHTML(
                        mine, venueOf: venueOf, evidence: evidence, pending: pending, venues: venues,
                        caller: caller)))
            sections.append(Section(id: "approvals", html: Self.approvalsHTML(requests, caller: caller)))
        }
        if let backtests, let views = try? await backtests.list(caller: caller) {
            sections.append(Section(id: "backtests", html: Self.backtestsHTML(views, oversees: caller.oversees)))
        }
        sections.append(Section(id: "log", html: try await logHTML(log, own: own)))
        if caller.oversees {
            sections.append(Section(id: "leaderboard", html: try await leaderboardHTML(caller)))
            sections.append(Section(id: "health", html: try await healthHTML(reply, caller: caller)))
        }
        if caller.isAdmin {
            sections.append(Section(id: "tokens", html: try await tokensHTML(caller)))
        }
        return sections
    }

    static func curve(_ history: EquityCurve) -> [(Date, Decimal)] {
        history.points.map { ($0.at, $0.equity) }
    }

    /// Equity now less equity at the last session close (the P&L day's start).
    func todayPnL(member: String, total: Decimal, caller: Caller, venue: String? = nil) async throws -> String {
        ExactDecimal.plain(
            try await portfolio.today(
                for: caller, member: member, total: total, calendar: calendar, venue: venue))
    }

    func accountHTML(_ account: AccountView, today: String, drawdown: String) -> String {
        let cells: [(String, String)] = [
            ("P&L today", HTML.pnl(today)), ("Total P&L", HTML.pnl(account.totalPnL)),
            ("Realized", HTML.pnl(account.realizedPnL)), ("Unrealized", HTML.pnl(account.unrealizedPnL)),
            ("Cash used", HTML.money(account.cashUsed)), ("Market value", HTML.money(account.marketValue)),
            ("Max drawdown (24 h)", HTML.money(drawdown)), ("Open orders", "\(account.openOrders)"),
        ]
        return "<dl class=\"figures\">"
            + cells.map {
                "<div><dt>\(HTML.escape($0.0))</dt><dd data-figure=\"\(HTML.escape($0.0))\">\($0.1)</dd></div>"
            }
            .joined() + "</dl>"
    }

    func positionsHTML(_ holdings: [Holding]) -> String {
        let rows = holdings.filter { $0.record.qty != 0 || $0.record.realizedPnL != 0 }.map { holding -> [String] in
            let view = PositionView(holding.record, lastPrice: holding.lastPrice, byStrategy: false)
            return [
                HTML.escape(view.symbol), HTML.escape(view.qty), HTML.money(view.avgEntryPrice),
                HTML.money(view.marketPrice), HTML.money(view.marketValue), HTML.pnl(view.unrealizedPnL),
                HTML.pnl(view.realizedPnL), HTML.escape(venues.shown(holding.record.venue)),
            ]
        }
        return HTML.table(
            ["Symbol", "Qty", "Avg entry", "Price", "Market value", "Unrealized", "Realized", "Venue"], rows,
            empty: "No positions.", label: "Positions")
    }

    /// Under an order's type: its class and legs (`bracket: 2 legs …1a2b3c4d, …5e6f7a8b`),
    /// or for a leg its class and order (`bracket exit of …1a2b3c4d`); nothing for a simple order.
    static func classNote(_ order: OrderRecord) -> String {
        guard order.orderClass != .simple else { return "" }
        func short(_ id: String) -> String { "…" + HTML.escape(String(id.suffix(8))) }
        if let parent = order.parentId {
            return "<br><small>\(order.orderClass.rawValue) exit of \(short(parent))</small>"
        }
        let legs = order.legs.map { short($0.orderId) }.joined(separator: ", ")
        return "<br><small>\(order.orderClass.rawValue): \(order.legs.count) leg(s) \(legs)</small>"
    }

    func ordersHTML(open: [OrderRecord], recent: [OrderRecord]) -> String {
        let openIds = Set(open.map(\.orderId))
        let orders = open + recent.filter { !openIds.contains($0.orderId) }
        let rows = orders.map { order -> [String] in
            let view = OrderView(order)
            let cancel =
                openIds.contains(order.orderId)
                ? HTML.action(
                    "Cancel", "DELETE", Routes.cancelOrder.path(order.orderId), name: "cancel-\(order.orderId)") : ""
            return [
                HTML.time(order.createdAt),
                "<code title=\"\(HTML.escape(order.orderId))\">…\(HTML.escape(String(order.orderId.suffix(8))))</code>",
                HTML.escape(view.symbol), HTML.escape(view.side), HTML.escape(view.qty),
                HTML.escape(view.orderType) + Self.classNote(order), HTML.money(view.limitPrice),
                "<span class=\"status\">\(HTML.escape(view.status))</span>", HTML.escape(view.filledQty),
                HTML.money(view.filledAvgPrice), HTML.escape(view.strategy.isEmpty ? "-" : view.strategy),
                HTML.escape(venues.shown(order.venue)), cancel,
            ]
        }
        return HTML.table(
            [
                "Time", "Order", "Symbol", "Side", "Qty", "Type", "Limit", "Status", "Filled", "Fill price", "Strategy",
                "Venue", "",
            ],
            rows, empty: "No orders yet.", label: "Orders")
    }

    /// The strategies `caller` sees, each with its venue (and, on a desk of several venues, its stage).
    func strategiesHTML(
        _ reply: StrategyStatusReply?, own: [StrategyStatus], venueOf: [String: String],
        pending: [String: PromotionRequest]
    ) -> String {
        guard let reply else {
            return "<p class=\"empty\">This desk runs no strategies (desk serve --strategies-dir).</p>"
        }
        let rows = own.map { strategy -> [String] in
            let names = #"{"names":[\#(Self.json(strategy.name))]}"#
            let actions = StrategyAction.allCases.map { action in
                HTML.action(
                    action.rawValue.capitalized, "POST", action.memberRoute.path(), body: names,
                    name: "\(action.rawValue)-\(strategy.name)")
            }.joined(separator: " ")
            let logs =
                "<button type=\"button\" data-log=\"\(HTML.escape(strategy.name))\" data-name=\"logs-\(HTML.escape(strategy.name))\">Log</button>"
            var state = HTML.escape(strategy.state.rawValue)
            if let failure = strategy.failure { state += "<br><small>\(HTML.escape(failure))</small>" }
            if let problem = strategy.problem { state += "<br><small>config: \(HTML.escape(problem))</small>" }
            let choices = PromotionChoices(
                venue: venueOf[strategy.name] ?? "", pending: pending[strategy.name], venues: venues)
            let stage =
                venues.isSingle
                ? []
                : ["<span data-stage-of=\"\(HTML.escape(strategy.name))\">\(HTML.escape(choices.stageText))</span>"]
            return [
                "<span data-strategy=\"\(HTML.escape(strategy.name))\">\(HTML.escape(strategy.name))</span>",
                HTML.escape(strategy.member),
                "<span data-venue-of=\"\(HTML.escape(strategy.name))\">\(HTML.escape(choices.venue))</span>",
            ] + stage + [
                "<span class=\"state\" data-state-of=\"\(HTML.escape(strategy.name))\">\(state)</span>",
                "\(strategy.restarts)", strategy.ordersPlaced.map(String.init) ?? "-", "\(strategy.ticksDelivered)",
                "\(strategy.ticksDropped)", actions + " " + logs,
            ]
        }
        var html = HTML.table(
            ["Strategy", "Member", "Venue"] + (venues.isSingle ? [] : ["Stage"])
                + ["State", "Restarts", "Orders", "Ticks", "Dropped", ""], rows,
            empty: "No strategies yet: deploy one below.", label: "Strategies")
        if let problem = reply.sandbox.problem {
            html += "<p class=\"warning\">No strategy can start: \(HTML.escape(problem))</p>"
        }
        return html
    }

    func logHTML(_ name: String?, own: [StrategyStatus]) async throws -> String {
        guard let name, own.contains(where: { $0.name == name }), let supervisor = strategies.strategies.supervisor
        else {
            return "<p class=\"empty\">Choose a strategy's Log to follow it here.</p>"
        }
        let path = supervisor.logPath(name)
        let lines = try await Blocking.run { StrategyLog.tail(path: path, lines: 30) }
        return "<h3>\(HTML.escape(name))</h3><pre class=\"log\">"
            + HTML.escape(lines.isEmpty ? "(nothing logged yet)" : lines.joined(separator: "\n")) + "</pre>"
    }

    /// Every member's book on each venue (officers and the admin), best total P&L first.
    func leaderboardHTML(_ caller: Caller) async throws -> String {
        let standings = try await portfolio.leaderboard(for: caller)
        // Halts are the kill switches' to show; a caller they refuse sees every member trading.
        let halted = Set(((try? await switches.active(for: caller)) ?? []).map(\.scope))
        var rows: [(Decimal, [String])] = []
        for standing in standings {
            let member = standing.member
            let valuation = AccountValuation(positions: standing.positions, lastPrice: portfolio.lastPrice)
            let account = AccountView(member: member, valuation: valuation, openOrders: 0)
            let today = try await todayPnL(
                member: member, total: valuation.totalPnL, caller: caller, venue: standing.venue)
            let body = #"{"member":\#(Self.json(member))}"#
            let button =
                halted.contains(member)
                ? HTML.action("Resume", "POST", Routes.resume.path(), body: body, name: "resume-\(member)")
                : HTML.action("Halt", "POST", Routes.halt.path(), body: body, name: "halt-\(member)")
            rows.append(
                (
                    valuation.totalPnL,
                    [
                        "<span data-member=\"\(HTML.escape(member))\">\(HTML.escape(member))</span>",
                        HTML.escape(venues.shown(standing.venue)), HTML.pnl(account.totalPnL), HTML.pnl(today),
                        HTML.pnl(account.realizedPnL),
                        HTML.pnl(account.unrealizedPnL), HTML.money(ExactDecimal.plain(standing.curve.maxDrawdown)),
                        halted.contains(member) ? "<strong>HALTED</strong>" : "trading", button,
                    ]
                ))
        }
        let ranked = rows.sorted { $0.0 > $1.0 }.enumerated().map { ["\($0.offset + 1)"] + $0.element.1 }
        return HTML.table(
            [
                "#", "Member", "Venue", "Total P&L", "Today", "Realized", "Unrealized", "Max drawdown (24 h)",
                "Trading",
                "",
            ],
            ranked, empty: "No members yet.", label: "Leaderboard")
    }

    func healthHTML(_ strategies: StrategyStatusReply?, caller: Caller) async throws -> String {
        let statistics = feed.statistics
        let halts = try await switches.active(for: caller)
        let wholeDesk = halts.contains { $0.scope == HaltRecord.wholeDesk }
        var html = "<dl class=\"figures\">"
        html += "<div><dt>Broker</dt><dd>\(HTML.escape(venue.name))</dd></div>"
        if !venues.isSingle {
            let names = venues.names.map { $0 + (venues.needingApproval.contains($0) ? " (approval)" : "") }
            html += "<div><dt>Venues</dt><dd>\(HTML.escape(names.joined(separator: ", ")))</dd></div>"
        }
        html += "<div><dt>Feed</dt><dd>\(HTML.escape(statistics.source ?? "none"))</dd></div>"
        html +=
            "<div><dt>Feed state</dt><dd>\(HTML.escape(OperationsController.describe(statistics.sourceState)))</dd></div>"
        html += "<div><dt>Ticks published</dt><dd>\(statistics.ticksPublished)</dd></div>"
        html +=
            "<div><dt>Desk</dt><dd data-figure=\"Desk\">\(wholeDesk ? "<strong>HALTED</strong>" : "trading")</dd></div>"
        html +=
            "<div><dt>Sandbox</dt><dd>\(HTML.escape(strategies?.sandbox.problem.map { "broken: \($0)" } ?? (strategies == nil ? "no strategies" : "in place")))</dd></div>"
        html += "</dl>"
        let rows = halts.map {
            [
                HTML.escape($0.scope == HaltRecord.wholeDesk ? "the whole desk" : $0.scope),
                HTML.escape($0.reason ?? "-"),
                HTML.escape($0.haltedBy ?? "-"), HTML.time($0.haltedAt),
            ]
        }
        html +=
            "<h3>Kill switches</h3>"
            + HTML.table(["Scope", "Reason", "By", "At"], rows, empty: "None on.", label: "Halts")
        html +=
            "<p>"
            + (wholeDesk
                ? HTML.action("Resume the desk", "POST", Routes.resume.path(), body: "{}", name: "resume-desk")
                : HTML.action("Halt the whole desk", "POST", Routes.halt.path(), body: "{}", name: "halt-desk"))
        // Officers halt and resume; reconciling is the desk's admin's.
        if caller.isAdmin && venue.capabilities.contains(.reconciles) {
            html +=
                " " + HTML.action("Reconcile with \(venue.name)", "POST", Routes.reconcile.path(), name: "reconcile")
        } else if caller.isAdmin {
            html += " <small>Reconciliation: the \(HTML.escape(venue.name)) venue's book is the ledger itself.</small>"
        }
        return html + "</p>"
    }

    func tokensHTML(_ caller: Caller) async throws -> String {
        let live = try await tokens.list(by: .caller(caller)).filter {
            $0.revokedAt == nil && $0.issuedBy != TokenIssuer.supervisor.rawValue
        }
        let rows = live.map { token -> [String] in
            let view = TokenView(token)
            return [
                "\(view.id)", HTML.escape(view.member), HTML.escape(view.strategy.isEmpty ? "-" : view.strategy),
                HTML.escape(view.kind), HTML.escape(venues.shown(view.venue ?? "")), HTML.escape(view.issuedBy),
                HTML.time(view.createdAt),
                HTML.action("Revoke", "DELETE", Routes.revokeToken.path("\(view.id)"), name: "revoke-\(view.id)"),
            ]
        }
        return HTML.table(
            ["Id", "Member", "Strategy", "Kind", "Venue", "Issued by", "Issued", ""], rows, empty: "No live tokens.",
            label: "Tokens")
    }

    /// `text` as a JSON string.
    static func json(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}
