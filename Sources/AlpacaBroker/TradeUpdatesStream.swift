import AlpacaData
import DeskBroker
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore

/// Why a trade_updates session ended.
public enum TradeStreamError: Error, CustomStringConvertible {
    /// Alpaca refused the keys (no point retrying quickly).
    case unauthorized(String)
    /// The server said something the protocol does not allow.
    case protocolViolation(String)

    public var description: String {
        switch self {
        case .unauthorized(let detail): "Alpaca refused the desk's keys on the trade_updates stream: \(detail)"
        case .protocolViolation(let detail): "unexpected message on the trade_updates stream: \(detail)"
        }
    }
}

/// One session on Alpaca's `trade_updates` stream: connect, authenticate in band,
/// listen, then hand every order event to `onUpdate` until the connection ends.
/// Reconnecting is the caller's job (`AlpacaVenue` backs off and catches up).
enum TradeUpdatesStream {
    static func session(
        settings: AlpacaSettings, logger: Logger, onListening: @escaping @Sendable () async -> Void,
        onUpdate: @escaping @Sendable (TradeUpdateMessage.Payload) async -> Void
    ) async throws {
        let authenticate = try JSONSerialization.data(withJSONObject: [
            "action": "authenticate", "data": ["key_id": settings.keyID, "secret_key": settings.secretKey],
        ])
        let listen = #"{"action":"listen","data":{"streams":["trade_updates"]}}"#
        var quiet = logger
        quiet.logLevel = .warning
        try await WebSocketClient.connect(url: settings.tradingStreamURL, logger: quiet) { inbound, outbound, _ in
            try await outbound.write(.text(String(decoding: authenticate, as: UTF8.self)))
            var messages = inbound.messages(maxSize: 4 << 20).makeAsyncIterator()
            guard let first = try await messages.next() else {
                throw TradeStreamError.protocolViolation("the connection closed before authorization")
            }
            let authorization = try? JSONDecoder().decode(StreamControlMessage.self, from: Data(bytes(first)))
            guard authorization?.stream == "authorization" else {
                throw TradeStreamError.protocolViolation("expected an authorization reply")
            }
            guard authorization?.data?.status == "authorized" else {
                throw TradeStreamError.unauthorized(authorization?.data?.status ?? "no status")
            }
            try await outbound.write(.text(listen))
            var announced = false
            while let message = try await messages.next() {
                let data = Data(bytes(message))
                guard let control = try? JSONDecoder().decode(StreamControlMessage.self, from: data) else {
                    logger.warning("trade_updates: a message that is not JSON was skipped")
                    continue
                }
                switch control.stream {
                case "listening":
                    if !announced {
                        announced = true
                        await onListening()
                    }
                case "trade_updates":
                    do {
                        let update = try JSONDecoder().decode(TradeUpdateMessage.self, from: data)
                        if let payload = update.data { await onUpdate(payload) }
                    } catch {
                        logger.warning("trade_updates: an event could not be read and was skipped: \(error)")
                    }
                default:
                    continue
                }
            }
        }
    }

    private static func bytes(_ message: WebSocketMessage) -> [UInt8] {
        switch message {
        case .text(let text): Array(text.utf8)
        case .binary(let buffer): Array(buffer.readableBytesView)
        }
    }
}
