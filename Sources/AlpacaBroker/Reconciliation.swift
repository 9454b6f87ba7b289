import AlpacaData
import DeskBroker
import DeskCore
import Foundation

extension AlpacaVenue {
    /// Checks the ledger's open orders at Alpaca and returns what the ledger missed
    /// (to be booked by the caller), with the orders Alpaca does not know.
    public func catchUp(openOrders: [WorkingOrder]) async throws(BrokerError) -> (
        updates: [OrderUpdate], unknown: [String]
    ) {
        for order in openOrders where !isFollowing(order.order.id) {
            followRestored(order)
        }
        return try await followUp(only: Self.ids(openOrders), deliver: false)
    }

    /// Alpaca's open orders and positions, in the desk's terms.
    public func account() async throws(BrokerError) -> BrokerAccount {
        let (orders, positions) = try await alpacaAccount()
        // Exits carry Alpaca's own client order ids: named by the desk's.
        let named = orders.map { order in
            var order = order
            if let deskId = deskId(alpacaId: order.id) { order.client_order_id = deskId }
            return order
        }
        var account = Self.account(openOrders: named, positions: positions)
        account.equity = try await equity()
        return account
    }

    /// The account's equity (`GET /v2/account`), nil when Alpaca does not say.
    func equity() async throws(BrokerError) -> Decimal? {
        let reply = try await rest.send(.GET, "/v2/account", member: Self.deskMember)
        guard reply.status == 200 else {
            throw .unavailable("Alpaca answered \(reply.status): \(reply.errorMessage)")
        }
        struct Account: Decodable { var equity: String? }
        guard let text = (try? JSONDecoder().decode(Account.self, from: Data(reply.body)))?.equity,
            case .success(let equity) = ExactDecimal.parse(text)
        else { return nil }
        return equity
    }

    /// Alpaca's account in the desk's terms: positions signed (older payloads only say "short").
    static func account(openOrders: [AlpacaOrder], positions: [AlpacaPosition]) -> BrokerAccount {
        var held: [String: Decimal] = [:]
        for position in positions {
            let qty = position.qty.value
            held[position.symbol, default: 0] += position.side == "short" && qty > 0 ? -qty : qty
        }
        return BrokerAccount(
            openOrders: openOrders.map {
                BrokerAccount.OpenOrder(
                    brokerId: $0.id, clientOrderId: $0.client_order_id, symbol: $0.symbol, side: $0.side,
                    qty: $0.qty?.value, status: $0.status)
            }, positions: held)
    }

    /// Alpaca's open orders and positions as it sends them.
    func alpacaAccount() async throws(BrokerError) -> (openOrders: [AlpacaOrder], positions: [AlpacaPosition]) {
        let orders = try await rest.send(
            .GET, "/v2/orders", query: [("status", "open"), ("limit", "500")], member: Self.deskMember)
        let positions = try await rest.send(.GET, "/v2/positions", member: Self.deskMember)
        guard orders.status == 200, positions.status == 200 else {
            let failed = orders.status == 200 ? positions : orders
            throw .unavailable("Alpaca answered \(failed.status): \(failed.errorMessage)")
        }
        do {
            return (
                try JSONDecoder().decode([AlpacaOrder].self, from: Data(orders.body)),
                try JSONDecoder().decode([AlpacaPosition].self, from: Data(positions.body))
            )
        } catch {
            throw .unavailable("Alpaca's account could not be read: \(error)")
        }
    }
}
