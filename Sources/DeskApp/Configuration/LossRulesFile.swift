import DeskCore
import DeskPromotion
import Foundation

/// A `loss` entry of the config file: a venue's (`venues.live.loss`) or a member's override of one
/// (`risk.members.alice.loss.live`):
///
/// ```json
/// "loss": {"strategy": {"max_daily_loss": "500", "max_drawdown": "1500", "max_position_value": "20000"},
///          "member": {"max_daily_loss": "2000"},
///          "on_breach": "demote"}
/// ```
/// Limits are positive decimals (strings, or whole numbers) like the risk limits; in an override,
/// `null` removes the venue's rule for that member. `on_breach` is `stop` or `demote`.
struct LossRulesFileEntry: Decodable {
    var entry: LossRulesEntry

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: NamedKey.self)
        entry = LossRulesEntry()
        if container.contains(NamedKey("strategy")) {
            entry.strategy = try container.decode(LossLimitsFileEntry.self, forKey: NamedKey("strategy")).limits
        }
        if container.contains(NamedKey("member")) {
            entry.member = try container.decode(LossLimitsFileEntry.self, forKey: NamedKey("member")).limits
        }
        if let word = try container.decodeIfPresent(String.self, forKey: NamedKey("on_breach")) {
            guard let response = BreachResponse(rawValue: word) else {
                throw DecodingError.dataCorruptedError(
                    forKey: NamedKey("on_breach"), in: container,
                    debugDescription:
                        "on_breach \"\(word)\" is not a response to a breach: use \(BreachResponse.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or "))"
                )
            }
            entry.onBreach = response
        }
    }
}

/// The rules of one `strategy` or `member` object: each a positive decimal, or null (removed).
struct LossLimitsFileEntry: Decodable {
    var limits: [LossRule: Decimal?] = [:]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: NamedKey.self)
        for rule in LossRule.allCases where container.contains(NamedKey(rule.rawValue)) {
            if try container.decodeNil(forKey: NamedKey(rule.rawValue)) {
                limits[rule] = .some(nil)
            } else {
                limits[rule] = try container.decode(PositiveDecimal.self, forKey: NamedKey(rule.rawValue)).value
            }
        }
    }
}

extension DeskConfigFile {
    /// The loss policy of the file's venue entries and members' overrides; venues are the file's
    /// (`paper` always), or `paper` alone when it has none.
    static func lossPolicy(
        venues: [String: LossRulesEntry], members: [String: [String: LossRulesEntry]], venueNames: [String],
        path: String
    ) throws(ConfigurationError) -> LossPolicy {
        switch LossPolicy.resolve(
            venues: venues, members: members, venueNames: venueNames, paperVenue: DeskConfiguration.paperVenue)
        {
        case .success(let policy): return policy
        case .failure(let problem): throw ConfigurationError("config file \(path): \(problem.message)")
        }
    }
}
