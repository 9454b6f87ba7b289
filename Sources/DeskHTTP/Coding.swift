import DeskAPI
import DeskCore
import Foundation
import Hummingbird
import NIOCore

/// Reads the JSON bodies of the API (`request.decode(as:context:)`): a JSON or
/// absent Content-Type in UTF-8, at most the desk's `BodySizeLimit`, by `StrictJSON`'s rules (each
/// key once), into a type that refuses keys it does not read, so that
/// `{"usr": "alice"}` cannot halt the whole desk. An empty body is `{}`.
public struct DeskRequestDecoder: RequestDecoder {
    /// The most bytes a body may have.
    public var limit: BodySizeLimit

    /// A decoder reading bodies up to `limit`.
    public init(limit: BodySizeLimit = .standard) { self.limit = limit }

    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext)
        async throws -> T
    {
        if let contentType = request.headers[.contentType] {
            guard ContentType.mediaType(contentType) == "application/json" else {
                throw DeskHTTPError(
                    .unsupportedMediaType,
                    "unsupported Content-Type \(OrderValidation.quoted(contentType)): this route reads application/json"
                )
            }
            try ContentType.checkCharset(request)
        }
        guard let body = try await limit.collect(request) else {
            throw DeskHTTPError(.contentTooLarge, limit.refusal)
        }
        let bytes = body.readableBytes == 0 ? Array("{}".utf8) : Array(buffer: body)
        do {
            return try StrictJSONDecoder().decode(type, from: bytes)
        } catch {
            let example = (type as? any APIRequestBody.Type).map { "; send JSON like \($0.example)" } ?? ""
            throw DeskHTTPError(.badRequest, "the body is not acceptable: \(error)\(example)")
        }
    }
}

/// Writes the API's replies (`APIJSON.encoder`, `Content-Type: application/json`).
public struct DeskResponseEncoder: ResponseEncoder {
    public init() {}

    public func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws
        -> Response
    {
        Self.response(value, status: .ok)
    }

    /// `value` as a JSON response with `status`.
    static func response(_ value: some Encodable, status: HTTPResponse.Status) -> Response {
        let data = (try? APIJSON.encoder.encode(value)) ?? Data()
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

// The API's replies are what handlers return; the context's encoder writes them.
extension OrderView: ResponseEncodable {}
extension OrderList: ResponseEncodable {}
extension PositionList: ResponseEncodable {}
extension AccountView: ResponseEncodable {}
extension HaltReply: ResponseEncodable {}
extension HaltList: ResponseEncodable {}
extension PriceReply: ResponseEncodable {}
extension Health: ResponseEncodable {}
extension StrategyStatusReply: ResponseEncodable {}
extension StrategyActionReply: ResponseEncodable {}
extension StrategyLogReply: ResponseEncodable {}
extension DeployReply: ResponseEncodable {}
extension DeleteReply: ResponseEncodable {}
extension TokenList: ResponseEncodable {}
extension IssuedTokenReply: ResponseEncodable {}
extension RevokeTokenReply: ResponseEncodable {}
extension SessionReply: ResponseEncodable {}
extension PnLHistory: ResponseEncodable {}

extension QueryParameters {
    /// A request's query parameters (percent-decoded).
    init(_ request: Request) {
        self.init(request.uri.queryParameters.map { (String($0.key), String($0.value)) })
    }
}

extension RouterMethods {
    /// Registers `handler` for `route` (its method and path, from DeskAPI's table).
    @discardableResult
    func on(
        _ route: Route, use handler: @Sendable @escaping (Request, Context) async throws -> some ResponseGenerator
    ) -> Self {
        on(RouterPath(route.routerPath), method: HTTPRequest.Method(rawValue: route.method.rawValue)!, use: handler)
    }
}
