import DeskAPI
import DeskBroker
import DeskCore
import DeskIdentity
import DeskLedger
import DeskMarketData
import DeskOrders
import DeskRunner
import Foundation

/// The web desk's page, rendered on the server: the sections a caller may see,
/// each an HTML fragment with an id, from the same ledger, broker and
/// supervisor the API answers from. The page at `/` is these sections in one
/// document; a live page receives each one again whenever it changes.
struct WebDesk: Sendable {
    let ledger: Ledger
    let broker: any Broker
    let orderDesk: OrderDesk
    let feed: FeedHub
    let strategies: MemberStrategyController
    let calendar: SessionCalendar
    let isAlpaca: Bool

    var equity: EquityBook { EquityBook(ledger: ledger, broker: broker) }

    /// One part of the page: its element id and its HTML.
    struct Section: Sendable, Equatable {
        var id: String
        var html: String
    }

    /// The live sections `caller` sees; `log` is the strategy whose log tail to show.
    func sections(for caller: Caller, log: String?) async throws -> [Section] {
        let member = caller.member
        let positions = try await ledger.positions(member: member)
        let open = try await ledger.orders(OrderQuery(member: member, status: .open, limit: 50))
        let recent = try await ledger.orders(OrderQuery(member: member, status: .all, limit: 20))
        let account = AccountView(
            member: member, positions: positions, openOrders: open.count, lastPrice: broker.lastPrice)
        let today = try await todayPnL(member: member, account: account)
        let history = try await equity.history(
            member: member, strategy: nil, since: Date().addingTimeInterval(-86_400), step: .minute)
        var sections = [
            Section(id: "account", html: accountHTML(account, today: today, drawdown: history.maxDrawdown)),
            Section(id: "equity", html: HTML.equityChart(Self.curve(history), label: "Equity of \(member)")),
            Section(id: "positions", html: positionsHTML(positions)),
            Section(id: "orders", html: ordersHTML(open: open, recent: recent)),
        ]
        let reply = try? await strategies.visible(to: caller)
        let own = (reply?.strategies ?? []).filter { $0.member == member || caller.isAdmin }
        sections.append(Section(id: "strategies", html: strategiesHTML(reply, own: own)))
        sections.append(Section(id: "log", html: try await logHTML(log, own: own)))
        if caller.isAdmin {
            sections.append(Section(id: "leaderboard", html: try await leaderboardHTML()))
            sections.append(Section(id: "health", html: await healthHTML(reply)))
            sections.append(Section(id: "tokens", html: try await tokensHTML()))
        }
        return sections
    }

    static func curve(_ history: PnLHistory) -> [(Date, Decimal)] {
        history.points.compactMap { point in
            guard case .success(let value) = ExactDecimal.parse(point.equity) else { return nil }
            return (point.at, value)
        }
    }

    /// Equity now less equity at the start of today (in the desk's session time zone).
    func todayPnL(member: String, account: AccountView) async throws -> String {
        var zone = Calendar(identifier: .gregorian)
        zone.timeZone = calendar.timeZone
        let start = zone.startOfDay(for: Date())
        let opening = try await ledger.equity(member: member, before: start)?.equity ?? 0
        guard case .success(let total) = ExactDecimal.parse(account.totalPnL) else { return account.totalPnL }
        return ExactDecimal.plain(total - opening)
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

    func positionsHTML(_ positions: [PositionRecord]) -> String {
        let rows = positions.filter { $0.qty != 0 || $0.realizedPnL != 0 }.map { record -> [String] in
            let view = PositionView(record, lastPrice: broker.lastPrice(record.symbol), byStrategy: false)
            return [
                HTML.escape(view.symbol), HTML.escape(view.qty), HTML.money(view.avgEntryPrice),
                HTML.money(view.marketPrice), HTML.money(view.marketValue), HTML.pnl(view.unrealizedPnL),
                HTML.pnl(view.realizedPnL),
            ]
        }
        return HTML.table(
            ["Symbol", "Qty", "Avg entry", "Price", "Market value", "Unrealized", "Realized"], rows,
            empty: "No positions.", label: "Positions")
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
                HTML.escape(view.orderType), HTML.money(view.limitPrice),
                "<span class=\"status\">\(HTML.escape(view.status))</span>", HTML.escape(view.filledQty),
                HTML.money(view.filledAvgPrice), HTML.escape(view.strategy.isEmpty ? "-" : view.strategy), cancel,
            ]
        }
        return HTML.table(
            [
                "Time", "Order", "Symbol", "Side", "Qty", "Type", "Limit", "Status", "Filled", "Fill price", "Strategy",
                "",
            ],
            rows, empty: "No orders yet.", label: "Orders")
    }

    func strategiesHTML(_ reply: StrategyStatusReply?, own: [StrategyStatus]) -> String {
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
            return [
                "<span data-strategy=\"\(HTML.escape(strategy.name))\">\(HTML.escape(strategy.name))</span>",
                HTML.escape(strategy.member),
                "<span class=\"state\" data-state-of=\"\(HTML.escape(strategy.name))\">\(state)</span>",
                "\(strategy.restarts)", strategy.ordersPlaced.map(String.init) ?? "-", "\(strategy.ticksDelivered)",
                "\(strategy.ticksDropped)", actions + " " + logs,
            ]
        }
        var html = HTML.table(
            ["Strategy", "Member", "State", "Restarts", "Orders", "Ticks", "Dropped", ""], rows,
            empty: "No strategies yet: deploy one below.", label: "Strategies")
        if let problem = reply.sandbox.problem {
            html += "<p class=\"warning\">No strategy can start: \(HTML.escape(problem))</p>"
        }
        return html
    }

    func logHTML(_ name: String?, own: [StrategyStatus]) async throws -> String {
        guard let name, own.contains(where: { $0.name == name }), let supervisor = strategies.supervisor else {
            return "<p class=\"empty\">Choose a strategy's Log to follow it here.</p>"
        }
        let path = supervisor.logPath(name)
        let lines = try await Blocking.run { StrategyLog.tail(path: path, lines: 30) }
        return "<h3>\(HTML.escape(name))</h3><pre class=\"log\">"
            + HTML.escape(lines.isEmpty ? "(nothing logged yet)" : lines.joined(separator: "\n")) + "</pre>"
    }

    func leaderboardHTML() async throws -> String {
        let everyone = try await ledger.positions(member: nil)
        let tokens = try await ledger.tokens().filter { $0.revokedAt == nil && !$0.metricsOnly && !$0.isAdmin }
        let members = Set(everyone.map(\.member)).union(tokens.map(\.member)).sorted()
        let halted = Set(await orderDesk.activeHalts().map(\.scope))
        var rows: [(Decimal, [String])] = []
        for member in members {
            let positions = everyone.filter { $0.member == member }
            let account = AccountView(member: member, positions: positions, openOrders: 0, lastPrice: broker.lastPrice)
            let history = try await equity.history(
                member: member, strategy: nil, since: Date().addingTimeInterval(-86_400), step: .minute)
            let today = try await todayPnL(member: member, account: account)
            let body = #"{"member":\#(Self.json(member))}"#
            let button =
                halted.contains(member)
                ? HTML.action("Resume", "POST", Routes.resume.path(), body: body, name: "resume-\(member)")
                : HTML.action("Halt", "POST", Routes.halt.path(), body: body, name: "halt-\(member)")
            let total = (try? ExactDecimal.parse(account.totalPnL).get()) ?? 0
            rows.append(
                (
                    total,
                    [
                        "<span data-member=\"\(HTML.escape(member))\">\(HTML.escape(member))</span>",
                        HTML.pnl(account.totalPnL), HTML.pnl(today), HTML.pnl(account.realizedPnL),
                        HTML.pnl(account.unrealizedPnL), HTML.money(history.maxDrawdown),
                        halted.contains(member) ? "<strong>HALTED</strong>" : "trading", button,
                    ]
                ))
        }
        let ranked = rows.sorted { $0.0 > $1.0 }.enumerated().map { ["\($0.offset + 1)"] + $0.element.1 }
        return HTML.table(
            ["#", "Member", "Total P&L", "Today", "Realized", "Unrealized", "Max drawdown (24 h)", "Orders", ""],
            ranked, empty: "No members yet.", label: "Leaderboard")
    }

    func healthHTML(_ strategies: StrategyStatusReply?) async -> String {
        let statistics = feed.statistics
        let halts = await orderDesk.activeHalts()
        let wholeDesk = halts.contains { $0.scope == HaltRecord.wholeDesk }
        var html = "<dl class=\"figures\">"
        html += "<div><dt>Broker</dt><dd>\(HTML.escape(broker.name))</dd></div>"
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
        if isAlpaca {
            html += " " + HTML.action("Reconcile with Alpaca", "POST", Routes.reconcile.path(), name: "reconcile")
        } else {
            html += " <small>Reconciliation: the paper broker's book is the ledger itself.</small>"
        }
        return html + "</p>"
    }

    func tokensHTML() async throws -> String {
        let live = try await ledger.tokens().filter { $0.revokedAt == nil && $0.issuedBy != "supervisor" }
        let rows = live.map { record -> [String] in
            let view = TokenController.view(record)
            return [
                "\(view.id)", HTML.escape(view.member), HTML.escape(view.strategy.isEmpty ? "-" : view.strategy),
                HTML.escape(view.kind), HTML.escape(view.issuedBy), HTML.time(view.createdAt),
                HTML.action("Revoke", "DELETE", Routes.revokeToken.path("\(view.id)"), name: "revoke-\(view.id)"),
            ]
        }
        return HTML.table(
            ["Id", "Member", "Strategy", "Kind", "Issued by", "Issued", ""], rows, empty: "No live tokens.",
            label: "Tokens")
    }

    /// `text` as a JSON string.
    static func json(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}
