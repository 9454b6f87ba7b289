import DeskProto
import Foundation
import Hummingbird

/// An error that answers the client with a status and a sentence. It renders in
/// the request's own format: an `OrderResponse` (protobuf or JSON) on `/order`,
/// `{"status":"error","message":…}` JSON everywhere else.
public struct DeskHTTPError: Error, HTTPResponseError, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        if request.uri.path == OrderWire.path {
            var reply = Orders_OrderResponse()
            reply.status = "error"
            reply.message = message
            return OrderWire.response(reply, status: status, format: OrderWire.Format(request: request) ?? .protobuf)
        }
        return JSONReply.error(status, message)
    }
}

/// JSON bodies of the read and admin API.
enum JSONReply {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    /// A JSON response of `value`.
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `{"status":"error","message":…}`.
    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        let body = (try? encoder.encode(["status": "error", "message": message])) ?? Data()
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
