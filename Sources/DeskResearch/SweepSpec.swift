import DeskCore
import Foundation

/// What a SWEEP.json asks for: the parameters (environment variable names, in
/// the file's order) and their values, as a full grid or as seeded random samples.
///
///     {"grid": {"WINDOW": ["10", "20"], "THRESHOLD_PERCENT": ["0.1", "0.2"]}}
///     {"random": {"samples": 20, "seed": 7, "space": {
///         "WINDOW": ["10", "20", "30"], "THRESHOLD_PERCENT": {"min": "0.5", "max": "3", "step": "0.5"}}}}
///
/// A value is a string, passed to the strategy as given; a JSON number is taken
/// as its text (`10` is `"10"`, `0.50` is `"0.50"`). A range `{min, max, step}`
/// (decimal texts or numbers) stands for min, min + step, … up to max.
public struct SweepSpec: Sendable, Equatable {
    /// One swept environment variable and the values it takes.
    public struct Parameter: Sendable, Equatable {
        public var name: String
        public var values: [String]

        public init(name: String, values: [String]) {
            self.name = name
            self.values = values
        }
    }

    /// Every combination, or `samples` distinct ones drawn with a seeded generator.
    public enum Method: Sendable, Equatable {
        case grid
        case random(samples: Int, seed: UInt64)
    }

    public var method: Method
    /// In the file's order: the table's columns and the heatmap's default axes.
    public var parameters: [Parameter]

    /// Most runs one sweep makes (and most values one range makes).
    public static let maximumCombinations = 10_000
    /// Longest value.
    public static let maximumValueLength = 1_000

    public init(method: Method, parameters: [Parameter]) {
        self.method = method
        self.parameters = parameters
    }

    /// The parameters' names, in order.
    public var names: [String] { parameters.map(\.name) }

    /// The file `url`, or why it is not a sweep (naming the file and the key at fault).
    public static func load(_ url: URL) throws(ResearchFailure) -> SweepSpec {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ResearchFailure("--sweep \(url.path): no such file (or it cannot be read)")
        }
        do { return try parse(data) } catch let failure {
            throw ResearchFailure("--sweep \(url.path): \(failure.message)")
        }
    }

    /// A SWEEP.json's text, or what is wrong with it and what is allowed.
    public static func parse(_ data: Data) throws(ResearchFailure) -> SweepSpec {
        let document: StrictJSON.Document
        do { document = try StrictJSON.parse(Array(data)) } catch let problem {
            throw ResearchFailure("not valid JSON: \(problem)")
        }
        let top = try object(document.root, at: "the top level")
        guard top.count == 1, let only = top.first, ["grid", "random"].contains(only.key) else {
            let keys = top.map(\.key)
            let unknown = keys.first { !["grid", "random"].contains($0) }
            throw ResearchFailure(
                (unknown.map { "unknown key \"\($0)\"" }
                    ?? (keys.isEmpty ? "no method" : "both \"grid\" and \"random\""))
                    + #": a sweep is one object with exactly one key, "grid" ({"grid": {"NAME": ["1", "2"]}}) or "random" ({"random": {"samples": N, "seed": S, "space": {…}}})"#
            )
        }
        if only.key == "grid" {
            let parameters = try space(only.node, at: "grid")
            if (size(parameters) ?? Int.max) > maximumCombinations {
                throw ResearchFailure(
                    "grid: \(parameters.map { "\($0.values.count)" }.joined(separator: " × ")) combinations is more than the \(maximumCombinations) a sweep may run: use fewer values, or \"random\" with at most \(maximumCombinations) samples"
                )
            }
            return SweepSpec(method: .grid, parameters: parameters)
        }
        let random = try object(only.node, at: "random")
        let allowed = ["samples", "seed", "space"]
        if let unknown = random.first(where: { !allowed.contains($0.key) }) {
            throw ResearchFailure("random: unknown key \"\(unknown.key)\": random takes samples, seed and space")
        }
        func member(_ key: String) throws(ResearchFailure) -> StrictJSON.Node {
            guard let found = random.first(where: { $0.key == key }) else {
                throw ResearchFailure(
                    "random: \(key) is missing: random takes samples (how many runs), seed (an integer, so the same file draws the same samples) and space"
                )
            }
            return found.node
        }
        guard case .number(let samplesText) = try member("samples").value, let samples = Int(samplesText),
            (1...maximumCombinations).contains(samples)
        else {
            throw ResearchFailure("random.samples must be a whole number from 1 to \(maximumCombinations), such as 20")
        }
        guard case .number(let seedText) = try member("seed").value, let seed = UInt64(seedText) else {
            throw ResearchFailure("random.seed must be a whole number from 0 to \(UInt64.max), such as 7")
        }
        let parameters = try space(try member("space"), at: "random.space")
        if let size = size(parameters), samples > size {
            throw ResearchFailure(
                "random.samples \(samples) is more than the \(size) distinct combinations of random.space: use at most \(size) samples, or \"grid\" to run them all"
            )
        }
        return SweepSpec(method: .random(samples: samples, seed: seed), parameters: parameters)
    }

    /// Every combination to run, in a fixed order: the grid's with the first
    /// parameter changing slowest; random samples in the order drawn (the same
    /// seed draws the same samples, a different one others).
    public func combinations() -> [[String: String]] {
        switch method {
        case .grid:
            var result: [[String: String]] = [[:]]
            for parameter in parameters {
                result = result.flatMap { partial in
                    parameter.values.map { value in partial.merging([parameter.name: value]) { $1 } }
                }
            }
            return result
        case .random(let samples, let seed):
            var generator = SplitMix64(seed: seed)
            var seen = Set<[Int]>()
            var result: [[String: String]] = []
            while result.count < samples {
                let choice = parameters.map { Int(generator.next(below: UInt64($0.values.count))) }
                guard seen.insert(choice).inserted else { continue }
                var combination: [String: String] = [:]
                for (parameter, index) in zip(parameters, choice) {
                    combination[parameter.name] = parameter.values[index]
                }
                result.append(combination)
            }
            return result
        }
    }

    /// How many combinations `parameters` make; nil: more than an `Int` holds.
    static func size(_ parameters: [Parameter]) -> Int? {
        var size = 1
        for parameter in parameters {
            let product = size.multipliedReportingOverflow(by: parameter.values.count)
            if product.overflow { return nil }
            size = product.partialValue
        }
        return size
    }

    /// Whether `name` may be an environment variable's name: `[A-Za-z_][A-Za-z0-9_]*`.
    public static func isParameterName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return name.utf8.allSatisfy { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
        }
    }

    private static func object(_ node: StrictJSON.Node, at place: String) throws(ResearchFailure) -> [StrictJSON.Member]
    {
        guard case .object(let members) = node.value else {
            throw ResearchFailure("\(place) must be a JSON object")
        }
        return members
    }

    /// A `{NAME: [values] | {min, max, step}}` object.
    private static func space(_ node: StrictJSON.Node, at place: String) throws(ResearchFailure) -> [Parameter] {
        let members = try object(node, at: place)
        guard !members.isEmpty else {
            throw ResearchFailure(#"\#(place) has no parameters: give at least one, such as {"WINDOW": ["10", "20"]}"#)
        }
        var parameters: [Parameter] = []
        for member in members {
            let key = "\(place).\(member.key)"
            guard isParameterName(member.key) else {
                throw ResearchFailure(
                    "\(place): \"\(member.key)\" is not a parameter name: an environment variable's name, letters, digits and _ not starting with a digit ([A-Za-z_][A-Za-z0-9_]*), such as WINDOW"
                )
            }
            let values: [String]
            switch member.node.value {
            case .array(let nodes):
                guard !nodes.isEmpty else {
                    throw ResearchFailure(#"\#(key) is an empty list: give at least one value, such as ["10", "20"]"#)
                }
                values = try nodes.enumerated().map { (index, node) throws(ResearchFailure) in
                    try value(node, at: "\(key)[\(index)]")
                }
            case .object:
                values = try range(member.node, at: key)
            default:
                throw ResearchFailure(
                    #"\#(key) must be a list of values (["10", "20"]) or a range ({"min": "0.5", "max": "3", "step": "0.5"})"#
                )
            }
            var distinct = Set<String>()
            if let repeated = values.first(where: { !distinct.insert($0).inserted }) {
                throw ResearchFailure("\(key) has \"\(repeated)\" twice: each value once")
            }
            parameters.append(Parameter(name: member.key, values: values))
        }
        return parameters
    }

    /// A value: a string, or a JSON number's text.
    private static func value(_ node: StrictJSON.Node, at key: String) throws(ResearchFailure) -> String {
        let text: String
        switch node.value {
        case .string(let string): text = string
        case .number(let number): text = number
        default:
            throw ResearchFailure("\(key) must be a string (or a number, taken as its text), such as \"10\"")
        }
        guard !text.isEmpty, text.utf8.count <= maximumValueLength, !text.contains("\0") else {
            throw ResearchFailure(
                "\(key) must be 1 to \(maximumValueLength) characters with no NUL (it is an environment variable's value)"
            )
        }
        return text
    }

    /// `{"min", "max", "step"}` → min, min + step, … ≤ max, as plain decimal texts.
    private static func range(_ node: StrictJSON.Node, at key: String) throws(ResearchFailure) -> [String] {
        let members = try object(node, at: key)
        let allowed = ["min", "max", "step"]
        if let unknown = members.first(where: { !allowed.contains($0.key) }) {
            throw ResearchFailure("\(key): unknown key \"\(unknown.key)\": a range takes min, max and step")
        }
        func decimal(_ name: String) throws(ResearchFailure) -> Decimal {
            guard let found = members.first(where: { $0.key == name }) else {
                throw ResearchFailure(
                    #"\#(key).\#(name) is missing: a range is {"min": "0.5", "max": "3", "step": "0.5"}"#)
            }
            let text: String
            switch found.node.value {
            case .string(let string): text = string
            case .number(let number): text = number
            default: throw ResearchFailure("\(key).\(name) must be a decimal, such as \"0.5\"")
            }
            switch ExactDecimal.parse(text) {
            case .success(let value): return value
            case .failure(let failure):
                throw ResearchFailure("\(key).\(name) \"\(text)\" is not a decimal: \(failure.rule)")
            }
        }
        let low = try decimal("min")
        let high = try decimal("max")
        let step = try decimal("step")
        guard step > 0 else { throw ResearchFailure("\(key).step must be more than 0, such as \"0.5\"") }
        guard low <= high else { throw ResearchFailure("\(key).min must be at most its max") }
        guard (high - low) / step < Decimal(maximumCombinations) else {
            throw ResearchFailure(
                "\(key) makes more than \(maximumCombinations) values: use a larger step or a narrower range")
        }
        var values: [String] = []
        var current = low
        while current <= high {
            values.append(ExactDecimal.plain(current))
            current += step
        }
        return values
    }
}
