import DeskApp
import DeskAppTestSupport
import DeskCore
import DeskHTTP
import DeskIdentity
import DeskLedger
import DeskProto
import DeskTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SwiftProtobuf
import Testing

/// An in-process desk and a client for its router, with helpers for the wire formats.
struct DeskHarness: Sendable {
    let app: DeskApplication
    let client: any TestClientProtocol
    let admin: String

    static func run(
        configure: @escaping @Sendable (inout DeskConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (DeskHarness) async throws -> Void
    ) async throws {
        try await withRunningDesk(configure: configure) { app in
            let admin = try await app.ledger.issueToken(member: "root", isAdmin: true).secret
            try await Application(router: app.router()).test(.router) { client in
                try await body(DeskHarness(app: app, client: client, admin: admin))
            }
        }
    }

    func token(_ member: String, strategy: String = "") async throws -> String {
        try await app.ledger.issueToken(member: member, strategy: strategy).secret
    }

    func headers(token: String? = nil, user: String? = nil, contentType: String? = "application/x-protobuf")
        -> HTTPFields
    {
        var fields = HTTPFields()
        if let contentType { fields[.contentType] = contentType }
        if let token { fields[.authorization] = "Bearer \(token)" }
        if let user { fields[HTTPField.Name("X-User-ID")!] = user }
        return fields
    }

    static func request(
        _ symbol: String = "AAPL", qty: String = "10", side: String = "buy", type: String = "", tif: String = "",
        limit: String = "", stop: String = ""
    ) -> Orders_OrderRequest {
        var request = Orders_OrderRequest()
        request.symbol = symbol
        request.qty = qty
        request.side = side
        request.orderType = type
        request.timeInForce = tif
        request.limitPrice = limit
        request.stopPrice = stop
        return request
    }

    /// POST /order with protobuf; returns the status and the decoded reply.
    func place(_ request: Orders_OrderRequest, token: String? = nil, user: String? = nil) async throws -> (
        HTTPResponse.Status, Orders_OrderResponse
    ) {
        let bytes: [UInt8] = try request.serializedBytes()
        return try await placeRaw(ByteBuffer(bytes: bytes), token: token, user: user)
    }

    func placeRaw(
        _ body: ByteBuffer, token: String? = nil, user: String? = nil, contentType: String? = "application/x-protobuf"
    ) async throws -> (HTTPResponse.Status, Orders_OrderResponse) {
        let response = try await client.execute(
            uri: "/order", method: .post, headers: headers(token: token, user: user, contentType: contentType),
            body: body)
        if response.headers[.contentType] == "application/json" {
            let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [String: String]
            var reply = Orders_OrderResponse()
            reply.status = object["status"] ?? ""
            reply.message = object["message"] ?? ""
            reply.orderID = object["order_id"] ?? ""
            reply.orderStatus = object["order_status"] ?? ""
            reply.filledQty = object["filled_qty"] ?? ""
            return (response.status, reply)
        }
        return (response.status, try Orders_OrderResponse(serializedBytes: Array(buffer: response.body)))
    }

    /// GET/POST/DELETE a JSON endpoint; returns status and parsed JSON object.
    func json(_ method: HTTPRequest.Method, _ uri: String, token: String?, body: String? = nil) async throws -> (
        HTTPResponse.Status, [String: Any]
    ) {
        let response = try await client.execute(
            uri: uri, method: method, headers: headers(token: token, contentType: "application/json"),
            body: body.map { ByteBuffer(string: $0) })
        let object = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:]
        return (response.status, object)
    }

    func setPrice(_ symbol: String, _ price: String, size: String? = nil) async throws {
        let sizeField = size.map { #", "size": "\#($0)""# } ?? ""
        let (status, _) = try await json(
            .post, "/admin/prices", token: admin, body: #"{"symbol": "\#(symbol)", "price": "\#(price)"\#(sizeField)}"#)
        #expect(status == .ok)
    }

    func orderCount() throws -> Int { try app.ledger.count("orders") }
}
