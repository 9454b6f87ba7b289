import DeskAPI
import DeskCore
import DeskServices
import Foundation
import Hummingbird

/// Promotions between venues (a member group: members, officers and the admin):
/// a strategy's promotion request, the approvals list, an approval and a
/// rejection. Who may do what is the `Promotions` use case's; this face reads
/// requests and answers with its shapes, and refusals through the JSON API's
/// table (`MemberStrategyController.httpError`).
struct PromotionController {
    let promotions: Promotions

    func addRoutes(to router: some RouterMethods<MemberContext>) {
        router.on(Routes.promoteStrategy, use: promote)
        router.on(Routes.approvals, use: list)
        router.on(Routes.approveApproval, use: approve)
        router.on(Routes.rejectApproval, use: reject)
    }

    @Sendable func promote(_ request: Request, context: MemberContext) async throws -> PromoteReply {
        try TokenController.noQuery(request)
        let name = try context.parameters.require("name")
        let body = try await request.decode(as: PromoteRequest.self, context: context)
        let outcome = try await MemberStrategyController.translating {
            try await promotions.request(
                name, to: body.venue, backtest: body.backtest.flatMap { $0.isEmpty ? nil : $0 },
                caller: context.caller)
        }
        return PromoteReply(outcome)
    }

    @Sendable func list(_ request: Request, context: MemberContext) async throws -> ApprovalList {
        try TokenController.noQuery(request)
        let requests = try await MemberStrategyController.translating {
            try await promotions.list(caller: context.caller)
        }
        return ApprovalList(approvals: requests.map(ApprovalView.init))
    }

    @Sendable func approve(_ request: Request, context: MemberContext) async throws -> PromoteReply {
        try TokenController.noQuery(request)
        let id = try Self.id(context)
        let outcome = try await MemberStrategyController.translating {
            try await promotions.approve(id: id, caller: context.caller)
        }
        return PromoteReply(outcome)
    }

    @Sendable func reject(_ request: Request, context: MemberContext) async throws -> PromoteReply {
        try TokenController.noQuery(request)
        let id = try Self.id(context)
        let body = try await request.decode(as: RejectRequest.self, context: context)
        let rejected = try await MemberStrategyController.translating {
            try await promotions.reject(id: id, reason: body.reason, caller: context.caller)
        }
        return PromoteReply(rejected: rejected)
    }

    /// The approval id in the path.
    static func id(_ context: MemberContext) throws -> Int64 {
        let raw = try context.parameters.require("id")
        guard let id = Int64(raw), id > 0 else {
            throw DeskHTTPError(
                .badRequest,
                "approval id \(OrderValidation.quoted(raw)) is not an approval id (GET /approvals lists them)")
        }
        return id
    }
}

extension PromoteReply: ResponseEncodable {}
extension ApprovalList: ResponseEncodable {}
