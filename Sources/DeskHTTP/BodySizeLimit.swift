import Hummingbird
import NIOCore

/// The most bytes a request body may have, one limit for every face that reads
/// one: `POST /order`, the JSON API (`DeskRequestDecoder`) and `/v2` (`desk serve
/// --max-body-size`). Each face refuses a larger body in its own shape with 413
/// and `refusal`. A strategy archive (`PUT /strategies/{name}`) is not a request
/// body in this sense: it has its own, much larger limit (`ArchiveLimits`).
public struct BodySizeLimit: Sendable, Equatable {
    /// Largest body read, in bytes.
    public var bytes: Int

    /// A limit of `bytes`.
    public init(bytes: Int) { self.bytes = bytes }

    /// 64 KiB: an order or an API request is a few hundred bytes at most.
    public static let standard = BodySizeLimit(bytes: 64 * 1024)

    /// What a face says when a body is larger than the limit.
    public var refusal: String {
        "the body is larger than \(bytes) bytes, the most this desk reads (--max-body-size)"
    }

    /// The body of `request`, or nil when it is larger than the limit.
    public func collect(_ request: Request) async throws -> ByteBuffer? {
        do { return try await request.body.collect(upTo: bytes) } catch is NIOTooManyBytesError { return nil }
    }
}

/// Gives every request's context the desk's `BodySizeLimit` (the context is built
/// before configuration can reach it).
struct BodySizeLimitMiddleware: RouterMiddleware {
    typealias Context = DeskRequestContext
    let limit: BodySizeLimit

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        context.bodySizeLimit = limit
        return try await next(request, context)
    }
}
