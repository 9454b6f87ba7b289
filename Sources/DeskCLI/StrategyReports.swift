import Foundation

/// What `desk strategies …` prints from the admin API's JSON.
public enum StrategyReports {
    struct StatusBody: Decodable {
        struct Strategy: Decodable {
            var name: String
            var member: String
            var state: String
            var pid: Int32?
            var runtime: String?
            var container: String?
            var restarts: Int
            var started_at: String?
            var last_exit: String?
            var failure: String?
            var last_log_lines: [String]?
            var symbols: [String]?
            var ticks_delivered: Int
            var ticks_dropped: Int
            var problem: String?
            var orders_placed: Int?
        }
        struct Sandbox: Decodable {
            var applied: [String]
            var problem: String?
        }
        var strategies: [Strategy]
        var sandbox: Sandbox
    }

    struct ResultsBody: Decodable {
        struct Result: Decodable {
            var name: String
            var ok: Bool
            var message: String
        }
        var results: [Result]
    }

    /// The status table (or the JSON as received, filtered by `only`).
    public static func status(_ body: [UInt8], only: [String], json: Bool) throws -> String {
        let decoded = try JSONDecoder().decode(StatusBody.self, from: Data(body))
        let strategies = decoded.strategies.filter { only.isEmpty || only.contains($0.name) }
        if json {
            guard var object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                let list = object["strategies"] as? [[String: Any]]
            else { return String(decoding: body, as: UTF8.self) }
            object["strategies"] = list.filter { only.isEmpty || only.contains(($0["name"] as? String) ?? "") }
            return String(
                decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        }
        var lines = [
            TextTable(
                headers: [
                    "STRATEGY", "MEMBER", "STATE", "RUNTIME", "PID", "RESTARTS", "ORDERS", "TICKS", "DROPPED",
                    "SYMBOLS",
                    "STARTED",
                ],
                rows: strategies.map { strategy in
                    [
                        strategy.name, strategy.member, strategy.state,
                        strategy.container.map { "docker:\($0)" } ?? strategy.runtime ?? "-",
                        strategy.pid.map(String.init) ?? "-",
                        "\(strategy.restarts)", strategy.orders_placed.map(String.init) ?? "-",
                        "\(strategy.ticks_delivered)",
                        "\(strategy.ticks_dropped)", strategy.symbols?.joined(separator: ",") ?? "all",
                        strategy.started_at ?? "-",
                    ]
                }
            ).render()
        ]
        for strategy in strategies {
            if let problem = strategy.problem { lines.append("\(strategy.name): config problem: \(problem)") }
            if let failure = strategy.failure {
                lines.append("\(strategy.name): FAILED: \(failure) (last exit: \(strategy.last_exit ?? "-"))")
                for line in strategy.last_log_lines ?? [] { lines.append("    | \(line)") }
            }
        }
        if let problem = decoded.sandbox.problem {
            lines.append("sandbox: NO STRATEGY CAN START: \(problem)")
        }
        return lines.joined(separator: "\n")
    }

    /// One line per strategy acted on.
    public static func results(_ body: [UInt8], json: Bool) throws -> String {
        if json { return String(decoding: body, as: UTF8.self) }
        let decoded = try JSONDecoder().decode(ResultsBody.self, from: Data(body))
        if decoded.results.isEmpty { return "no strategies found" }
        return decoded.results.map { "\($0.ok ? "ok   " : "FAIL ") \($0.name): \($0.message)" }.joined(separator: "\n")
    }

    /// The strategies whose action failed, from a results reply.
    public static func failures(_ body: [UInt8]) throws -> [String] {
        try JSONDecoder().decode(ResultsBody.self, from: Data(body)).results.filter { !$0.ok }.map(\.name)
    }

    /// Every strategy's name, from a status reply.
    public static func names(_ body: [UInt8]) throws -> [String] {
        try JSONDecoder().decode(StatusBody.self, from: Data(body)).strategies.map(\.name)
    }

    /// The lines of a logs reply.
    public static func logLines(_ body: [UInt8]) throws -> String {
        let decoded = try JSONDecoder().decode([String: [String]].self, from: Data(body))
        return (decoded["lines"] ?? []).joined(separator: "\n")
    }
}
