import DeskAPI
import DeskCore
import DeskServices
import Foundation
import Hummingbird

/// Backtests members submit (a member group: members, officers and the admin):
/// submit, list, see, cancel, and the result files. Who sees what is the
/// `Backtests` use case's; this face reads requests, answers with its shapes,
/// and turns refusals into statuses (`DeskHTTPError.init(_: BacktestRefusal)`).
struct BacktestsController {
    let backtests: Backtests?

    func addRoutes(to router: some RouterMethods<MemberContext>) {
        router.on(Routes.submitBacktest, use: submit)
        router.on(Routes.backtests, use: list)
        router.on(Routes.backtest, use: get)
        router.on(Routes.cancelBacktest, use: cancel)
        router.on(Routes.backtestFile, use: file)
        router.on(Routes.backtestRunFile, use: runFile)
    }

    func served() throws(DeskHTTPError) -> Backtests {
        guard let backtests else { throw DeskHTTPError(BacktestRefusal.notServed) }
        return backtests
    }

    @Sendable func submit(_ request: Request, context: MemberContext) async throws -> Response {
        try TokenController.noQuery(request)
        let backtests = try served()
        // An uploaded strategy and data file are larger than an API request: their own limit.
        let body = try await DeskRequestDecoder(limit: BodySizeLimit(bytes: backtests.bodyLimit)).decode(
            BacktestSubmission.self, from: request, context: context)
        let view = try await Self.translating { () async throws(BacktestRefusal) in
            try await backtests.submit(body, caller: context.caller)
        }
        return DeskResponseEncoder.response(view, status: .accepted)
    }

    @Sendable func list(_ request: Request, context: MemberContext) async throws -> BacktestList {
        try TokenController.noQuery(request)
        let backtests = try served()
        return BacktestList(
            backtests: try await Self.translating { () async throws(BacktestRefusal) in
                try await backtests.list(caller: context.caller)
            })
    }

    @Sendable func get(_ request: Request, context: MemberContext) async throws -> BacktestView {
        try TokenController.noQuery(request)
        let backtests = try served()
        let id = try context.parameters.require("id")
        return try await Self.translating { () async throws(BacktestRefusal) in
            try await backtests.get(id, caller: context.caller)
        }
    }

    @Sendable func cancel(_ request: Request, context: MemberContext) async throws -> BacktestView {
        try TokenController.noQuery(request)
        let backtests = try served()
        let id = try context.parameters.require("id")
        return try await Self.translating { () async throws(BacktestRefusal) in
            try await backtests.cancel(id, caller: context.caller)
        }
    }

    @Sendable func file(_ request: Request, context: MemberContext) async throws -> Response {
        try await serve(request, context: context, run: nil)
    }

    @Sendable func runFile(_ request: Request, context: MemberContext) async throws -> Response {
        try await serve(request, context: context, run: try context.parameters.require("run"))
    }

    func serve(_ request: Request, context: MemberContext, run: String?) async throws -> Response {
        try TokenController.noQuery(request)
        let backtests = try served()
        let id = try context.parameters.require("id")
        let name = try context.parameters.require("name")
        let path = try await Self.translating { () async throws(BacktestRefusal) in
            try await backtests.file(id, run: run, name: name, caller: context.caller)
        }
        let bytes = try await Blocking.run { try Data(contentsOf: path) }
        var headers = HTTPFields()
        headers[.contentType] = Self.contentType(name)
        headers[.contentDisposition] = "inline; filename=\"\(name)\""
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(data: bytes)))
    }

    /// The content type of a result file, by its name's ending.
    static func contentType(_ name: String) -> String {
        if name.hasSuffix(".html") { return "text/html; charset=utf-8" }
        if name.hasSuffix(".json") { return "application/json" }
        if name.hasSuffix(".csv") { return "text/csv; charset=utf-8" }
        return "application/octet-stream"
    }

    static func translating<T>(_ body: () async throws(BacktestRefusal) -> T) async throws(DeskHTTPError) -> T {
        do { return try await body() } catch { throw DeskHTTPError(error) }
    }
}

extension DeskHTTPError {
    /// A backtest refusal's status: 400 what was wrong, 404 not the caller's (never 403:
    /// another member's backtest is not theirs to know of), 413, 429 a cap, 503.
    public init(_ refusal: BacktestRefusal) {
        let status: HTTPResponse.Status =
            switch refusal {
            case .notServed: .notFound
            case .notFound, .noStrategy, .noFile: .notFound
            case .invalid: .badRequest
            case .tooLarge: .contentTooLarge
            case .cap: .tooManyRequests
            case .archive(let problem):
                switch problem.kind {
                case .badName, .invalid: .badRequest
                case .forbidden: .forbidden
                case .notFound: .notFound
                case .conflict: .conflict
                case .tooLarge: .contentTooLarge
                case .unavailable: .serviceUnavailable
                }
            case .unavailable: .serviceUnavailable
            }
        self.init(status, refusal.message)
    }
}

extension BacktestView: ResponseEncodable {}
extension BacktestList: ResponseEncodable {}
