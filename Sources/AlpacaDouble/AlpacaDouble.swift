import Hummingbird
import HummingbirdWebSocket
import Logging

/// A loopback stand-in for Alpaca: trading REST, the trade_updates stream and the
/// v2 market data stream, with faults injected on command. For tests and demos
/// without the internet.
public enum AlpacaDouble {
    /// One HTTP server for every part of the double; `register` adds each part's routes.
    public static func application(
        host: String = "127.0.0.1", port: Int, logger: Logger,
        register: (Router<BasicWebSocketRequestContext>) -> Void,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: BasicWebSocketRequestContext.self)
        register(router)
        return Application(
            router: router, server: .http1WebSocketUpgrade(webSocketRouter: router),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "alpaca-double"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}
