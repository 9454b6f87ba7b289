import DeskProto
import Foundation
import Hummingbird

/// An error that answers the client with a status and a sentence. It renders in
/// the request's own format: an `OrderResponse` (protobuf or JSON) on `/order`,
/// `{"status":"error","message":…}` JSON everywhere else.
public struct DeskHTTPError: Error, HTTPResponseError, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    /// Extra response headers (`Allow` on a 405).
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response: Response
        if request.uri.path == OrderWire.path {
            var reply = Orders_OrderResponse()
            reply.status = "error"
            reply.message = message
            response = OrderWire.response(
                reply, status: status, format: OrderWire.Format(request: request) ?? .protobuf)
        } else {
            response = JSONReply.error(status, message)
        }
        for field in headers { response.headers.append(field) }
        return response
    }
}

/// JSON bodies of the read and admin API.
public enum JSONReply {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
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
