import DeskCore
import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The market data double's commands over HTTP, for a double run as its own
/// process (`alpaca-double`). Decimals are JSON strings.
///
/// | request | body | effect |
/// | --- | --- | --- |
/// | `POST /_double/data/trade` | `{"symbol":"AAPL","price":"190.10","size":100}` | publishes a trade, sets the price |
/// | `POST /_double/data/quote` | `{"symbol":"AAPL","bid":"190.09","ask":"190.11","bid_size":3,"ask_size":5}` | publishes a quote (sizes default to 1) |
/// | `POST /_double/data/drop` | — | closes every data connection |
/// | `POST /_double/data/auth` | `{"refuse":true}` | refuses (or accepts again) every `auth` |
/// | `POST /_double/data/connection-limit` | `{"reached":true}` | answers `auth` with 406 and closes |
/// | `POST /_double/data/malformed` | — | sends every connection a message that does not decode |
/// | `GET /_double/data/state` | — | `{"connections":[…],"connections_opened":N,"prices":{…}}` |
struct MarketDataControl {
    let double: MarketDataDouble

    struct TradeCommand: Decodable {
        var symbol: String
        var price: String
        var size: Int64?
    }

    struct QuoteCommand: Decodable {
        var symbol: String
        var bid: String
        var ask: String
        var bid_size: Int64?
        var ask_size: Int64?
    }

    struct AuthCommand: Decodable {
        var refuse: Bool
    }

    struct ConnectionLimitCommand: Decodable {
        var reached: Bool
    }

    struct StateReport: Encodable {
        var connections: [MarketDataDouble.ConnectionInfo]
        var connections_opened: Int
        var prices: [String: String]
    }

    func addRoutes(to router: Router<BasicWebSocketRequestContext>) {
        let double = self.double
        router.post("_double/data/trade") { request, context in
            let command = try await request.decode(as: TradeCommand.self, context: context)
            let price = try Self.decimal(command.price, field: "price")
            let sent = double.publishTrade(symbol: command.symbol, price: price, size: command.size ?? 100)
            return Self.json(["sent_to": sent])
        }
        router.post("_double/data/quote") { request, context in
            let command = try await request.decode(as: QuoteCommand.self, context: context)
            let sent = double.publishQuote(
                symbol: command.symbol, bid: try Self.decimal(command.bid, field: "bid"),
                ask: try Self.decimal(command.ask, field: "ask"), bidSize: command.bid_size ?? 1,
                askSize: command.ask_size ?? 1)
            return Self.json(["sent_to": sent])
        }
        router.post("_double/data/drop") { _, _ in
            Self.json(["dropped": double.dropConnections()])
        }
        router.post("_double/data/auth") { request, context in
            double.refusesAuthentication = try await request.decode(as: AuthCommand.self, context: context).refuse
            return Response(status: .ok)
        }
        router.post("_double/data/connection-limit") { request, context in
            double.connectionLimitReached = try await request.decode(as: ConnectionLimitCommand.self, context: context)
                .reached
            return Response(status: .ok)
        }
        router.post("_double/data/malformed") { _, _ in
            double.sendMalformedMessage()
            return Response(status: .ok)
        }
        router.get("_double/data/state") { _, _ in
            Self.json(
                StateReport(
                    connections: double.connections, connections_opened: double.connectionsOpened,
                    prices: double.prices.mapValues(ExactDecimal.plain)))
        }
    }

    static func decimal(_ text: String, field: String) throws -> Decimal {
        guard case .success(let value) = ExactDecimal.parse(text), value > 0 else {
            throw HTTPError(.badRequest, message: "\(field) \"\(text)\" must be a positive decimal string")
        }
        return value
    }

    static func json(_ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
