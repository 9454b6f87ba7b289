import AsyncHTTPClient
import DeskProto
import Foundation
import NIOCore
import NIOHTTP1

/// A connection to a desk server for Swift strategies and the `desk` CLI:
/// places orders with the seed's protobuf contract and calls the JSON API.
/// One keep-alive HTTP client per connection.
public final class DeskConnection: Sendable {
    /// `http://host:port`, or `unix:///path/desk.sock`.
    public let serverURL: String
    private let token: String?
    private let userId: String?
    private let client: HTTPClient
    private let baseURL: String

    /// What went wrong talking to the desk.
    public enum Failure: Error, CustomStringConvertible, Sendable {
        /// Nothing answered at the URL.
        case unreachable(url: String, reason: String)
        /// The desk answered with an error status.
        case refused(status: Int, message: String)

        public var description: String {
            switch self {
            case .unreachable(let url, let reason): "cannot reach the desk at \(url): \(reason)"
            case .refused(let status, let message): "the desk answered \(status): \(message)"
            }
        }
    }

    /// - Parameters:
    ///   - serverURL: `DESK_SERVER_URL` (default `http://localhost:8080`); `unix://` URLs use the socket.
    ///   - token: `DESK_TOKEN`, sent as a bearer token.
    ///   - userId: `USER_ID`, sent as `X-User-ID` (a development-mode desk trusts it).
    public init(serverURL: String, token: String?, userId: String? = nil) {
        self.serverURL = serverURL
        self.token = token
        self.userId = userId
        if serverURL.hasPrefix("unix://") {
            let path = String(serverURL.dropFirst("unix://".count))
            baseURL = "http+unix://" + path.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        } else {
            baseURL = serverURL.hasSuffix("/") ? String(serverURL.dropLast()) : serverURL
        }
        var configuration = HTTPClient.Configuration()
        // The desk is local: a refused connection is an answer, not something to retry for long.
        configuration.timeout.connect = .seconds(3)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// A connection configured from the environment the desk gives strategies.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        -> DeskConnection
    {
        DeskConnection(
            serverURL: environment["DESK_SERVER_URL"] ?? "http://localhost:8080", token: environment["DESK_TOKEN"],
            userId: environment["USER_ID"])
    }

    /// Closes the HTTP client.
    public func shutdown() async throws { try await client.shutdown() }

    /// Places an order (`POST /order`, protobuf). A refusal comes back as a
    /// response with `status == "error"`; only transport failures throw.
    public func placeOrder(_ order: Orders_OrderRequest) async throws -> Orders_OrderResponse {
        let (_, body) = try await send(
            method: .POST, path: "/order", body: try order.serializedBytes(), contentType: "application/x-protobuf")
        return try Orders_OrderResponse(serializedBytes: body)
    }

    /// Calls a JSON endpoint and returns its body; a 4xx/5xx throws `Failure.refused` with the desk's message.
    public func json(method: HTTPMethod, path: String, body: [String: String]? = nil) async throws -> [UInt8] {
        try await json(method: method, path: path, jsonBody: body)
    }

    /// Calls a JSON endpoint with any encodable body.
    public func json(method: HTTPMethod, path: String, jsonBody: (some Encodable & Sendable)?) async throws -> [UInt8] {
        let payload = try jsonBody.map { Array(try JSONEncoder().encode($0)) }
        let (status, reply) = try await send(method: method, path: path, body: payload, contentType: "application/json")
        if status >= 400 {
            let message =
                (try? JSONDecoder().decode([String: String].self, from: Data(reply)))?["message"]
                ?? String(decoding: reply, as: UTF8.self)
            throw Failure.refused(status: status, message: message)
        }
        return reply
    }

    /// GETs a streaming endpoint and hands each chunk to `onChunk` until the desk ends it.
    public func stream(path: String, onChunk: @Sendable ([UInt8]) -> Void) async throws {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .GET
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .hours(24 * 365))
        } catch {
            throw Failure.unreachable(url: serverURL, reason: "\(error)")
        }
        if response.status.code >= 400 {
            let body = try await response.body.collect(upTo: 1 << 20)
            let message =
                (try? JSONDecoder().decode([String: String].self, from: Data(Array(buffer: body))))?["message"]
                ?? String(decoding: Array(buffer: body), as: UTF8.self)
            throw Failure.refused(status: Int(response.status.code), message: message)
        }
        for try await chunk in response.body { onChunk(Array(buffer: chunk)) }
    }

    private func send(method: HTTPMethod, path: String, body: [UInt8]?, contentType: String) async throws -> (
        Int, [UInt8]
    ) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Content-Type", value: contentType)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let userId { request.headers.add(name: "X-User-ID", value: userId) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
            return (Int(response.status.code), Array(buffer: bytes))
        } catch {
            throw Failure.unreachable(url: serverURL, reason: "\(error)")
        }
    }
}
