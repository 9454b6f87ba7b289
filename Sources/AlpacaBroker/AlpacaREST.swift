import AlpacaData
import AsyncHTTPClient
import DeskBroker
import Foundation
import NIOCore
import NIOHTTP1

/// One answer from Alpaca's REST API.
public struct AlpacaReply: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    /// Alpaca's own message for an error (`{"code":…,"message":…}`), or the body's text.
    public var errorMessage: String {
        if let error = try? JSONDecoder().decode(AlpacaErrorBody.self, from: Data(body)), let message = error.message {
            return error.code.map { "\(message) (Alpaca code \($0))" } ?? message
        }
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        return text.isEmpty ? "HTTP \(status)" : text
    }

    /// Alpaca's code for an error (`40010001` for a client order id already used).
    public var errorCode: Int? { (try? JSONDecoder().decode(AlpacaErrorBody.self, from: Data(body)))?.code }
}

/// Alpaca's trading REST API: the key headers, JSON, timeouts, and the account's
/// request budget (`RequestPacer`), with a retry after a 429 once the budget resets.
/// Nothing here logs a header: the keys stay out of every log line.
public final class AlpacaREST: Sendable {
    let settings: AlpacaSettings
    let pacer: RequestPacer
    let timeout: TimeAmount
    private let client: HTTPClient

    public init(settings: AlpacaSettings, pacer: RequestPacer, timeout: Duration = .seconds(10)) {
        self.settings = settings
        self.pacer = pacer
        self.timeout = .nanoseconds(Int64(timeout / .nanoseconds(1)))
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: self.timeout)
        configuration.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    /// Sends one request on behalf of `member`, waiting for a turn in the budget.
    /// Throws `.unavailable` when Alpaca cannot be reached or does not answer in time.
    public func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil,
        member: String
    ) async throws(BrokerError) -> AlpacaReply {
        var attempts = 0
        while true {
            attempts += 1
            try await pacer.acquire(member: member)
            let reply = try await perform(method, path, query: query, body: body)
            if reply.status == 429 || reply.headers["x-ratelimit-remaining"] == "0" {
                let pause = RequestPacer.pauseLength(resetHeader: reply.headers["x-ratelimit-reset"], now: Date())
                await pacer.pause(until: .now + pause)
            }
            if reply.status == 429 && attempts < 4 { continue }
            return reply
        }
    }

    private func perform(_ method: HTTPMethod, _ path: String, query: [(String, String)], body: [UInt8]?)
        async throws(BrokerError) -> AlpacaReply
    {
        var base = settings.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        var components = URLComponents(string: base + path)
        if !query.isEmpty { components?.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        guard let url = components?.string else { throw .unavailable("bad Alpaca URL \(base + path)") }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "APCA-API-KEY-ID", value: settings.keyID)
        request.headers.add(name: "APCA-API-SECRET-KEY", value: settings.secretKey)
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "desk/1")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await client.execute(request, timeout: timeout)
            let buffer = try await response.body.collect(upTo: 8 << 20)
            var headers: [String: String] = [:]
            for header in response.headers { headers[header.name.lowercased()] = header.value }
            return AlpacaReply(
                status: Int(response.status.code), headers: headers, body: Array(buffer.readableBytesView))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw .unavailable("Alpaca did not answer \(method) \(path) within \(timeout.nanoseconds / 1_000_000) ms")
        } catch {
            throw .unavailable("could not reach Alpaca at \(base) for \(method) \(path): \(error)")
        }
    }
}
