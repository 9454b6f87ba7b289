import DeskCore
import Foundation

/// `--walk-forward train=60d,test=20d[,step=20d][,anchored]`: how long each
/// training and test window is, in New York calendar days, how far the windows
/// move each time, and whether training always starts at the data's first day.
public struct WalkForwardSpec: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Days of each training window (with `anchored`: of the first one).
    public var trainDays: Int
    /// Days of each test window (the last may be cut at the data's last day).
    public var testDays: Int
    /// Days the windows move each time (default: `testDays`, so test windows follow each other).
    public var stepDays: Int
    /// Training always starts at the data's first day (and grows) instead of moving.
    public var anchored: Bool

    public init(trainDays: Int, testDays: Int, stepDays: Int? = nil, anchored: Bool = false) {
        self.trainDays = trainDays
        self.testDays = testDays
        self.stepDays = stepDays ?? testDays
        self.anchored = anchored
    }

    enum CodingKeys: String, CodingKey {
        case anchored
        case trainDays = "train_days", testDays = "test_days", stepDays = "step_days"
    }

    /// The spec as `--walk-forward` takes it (step always written).
    public var description: String {
        "train=\(trainDays)d,test=\(testDays)d,step=\(stepDays)d" + (anchored ? ",anchored" : "")
    }

    /// What `--walk-forward` allows, for error messages.
    static let allowed =
        "give train=Nd,test=Md[,step=Kd][,anchored] with whole days of at least 1, such as train=60d,test=20d or train=60d,test=20d,step=10d,anchored"

    /// Reads `train=60d,test=20d[,step=20d][,anchored]`; the error says what was wrong and what is allowed.
    public static func parse(_ text: String) throws(ResearchFailure) -> WalkForwardSpec {
        func refuse(_ what: String) -> ResearchFailure {
            ResearchFailure("--walk-forward \(text): \(what); \(allowed)")
        }
        var days: [String: Int] = [:]
        var anchored = false
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = part.trimmingCharacters(in: .whitespaces)
            if item == "anchored" {
                guard !anchored else { throw refuse("anchored is given twice") }
                anchored = true
                continue
            }
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else {
                throw refuse(item.isEmpty ? "an empty part" : "\"\(item)\" is not NAME=DAYS nor anchored")
            }
            let name = String(pair[0])
            guard ["train", "test", "step"].contains(name) else {
                throw refuse("unknown part \"\(name)\" (the parts are train, test, step and anchored)")
            }
            guard days[name] == nil else { throw refuse("\(name) is given twice") }
            let value = pair[1]
            guard value.hasSuffix("d"), let count = Int(value.dropLast()), value.dropLast().allSatisfy(\.isNumber)
            else {
                throw refuse("\(name)=\(value) is not a whole number of days such as \(name)=20d")
            }
            guard count >= 1 else { throw refuse("\(name)=\(value) must be at least 1d") }
            guard count <= 36_500 else { throw refuse("\(name)=\(value) is more than 36500 days") }
            days[name] = count
        }
        guard let train = days["train"] else { throw refuse("train=Nd is missing") }
        guard let test = days["test"] else { throw refuse("test=Md is missing") }
        return WalkForwardSpec(trainDays: train, testDays: test, stepDays: days["step"], anchored: anchored)
    }
}

/// Both ends of a run of New York calendar days, included.
public struct DayRange: Sendable, Equatable, Codable, CustomStringConvertible {
    public var from: TradingDay
    public var to: TradingDay

    public init(_ from: TradingDay, _ to: TradingDay) {
        self.from = from
        self.to = to
    }

    /// Days from `from` to `to`, both counted.
    public var count: Int { to.dayNumber - from.dayNumber + 1 }

    public func contains(_ day: TradingDay) -> Bool { from <= day && day <= to }

    /// `2026-11-16..2026-11-17`, or the one day.
    public var description: String { from == to ? "\(from)" : "\(from)..\(to)" }

    enum CodingKeys: String, CodingKey { case from, to }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let from = try container.decode(String.self, forKey: .from)
        let to = try container.decode(String.self, forKey: .to)
        guard let first = TradingDay(from), let last = TradingDay(to) else {
            throw DecodingError.dataCorruptedError(
                forKey: .from, in: container, debugDescription: "not YYYY-MM-DD dates: \(from), \(to)")
        }
        self.init(first, last)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(from.description, forKey: .from)
        try container.encode(to.description, forKey: .to)
    }
}

/// One walk-forward window: the days its parameters are chosen on, and the days after them they are tried on.
public struct WalkForwardWindow: Sendable, Equatable, Codable {
    /// 1, 2, … in calendar order, skipped windows counted (so a number names the same days in every run).
    public var number: Int
    public var train: DayRange
    public var test: DayRange

    public init(number: Int, train: DayRange, test: DayRange) {
        self.number = number
        self.train = train
        self.test = test
    }

    /// `01`, `02`, …: its folder under `WORK/windows/`.
    public var folder: String { number < 10 ? "0\(number)" : "\(number)" }
}

/// A window left out, and why.
public struct SkippedWindow: Sendable, Equatable, Codable {
    public var window: WalkForwardWindow
    public var reason: String

    public init(window: WalkForwardWindow, reason: String) {
        self.window = window
        self.reason = reason
    }
}

/// The windows of a spec over the days that hold ticks (pure).
public struct WalkForwardPlan: Sendable, Equatable {
    /// The windows to run, in order.
    public var windows: [WalkForwardWindow]
    /// Windows whose train or test days hold no ticks.
    public var skipped: [SkippedWindow]
    /// The data's first and last day.
    public var data: DayRange

    /// Windows by the calendar from the data's first day: train [s, s+N-1], test
    /// [s+N, s+N+M-1] cut at the data's last day, then s += K; `anchored`: train
    /// from the first day. `days` are the New York dates that hold ticks (any
    /// order); none, or too few for one test day after a training window, is an error.
    public init(_ spec: WalkForwardSpec, days: some Sequence<TradingDay>) throws(ResearchFailure) {
        let held = Set(days)
        guard let first = held.min(), let last = held.max() else {
            throw ResearchFailure("the data holds no ticks to walk forward over")
        }
        data = DayRange(first, last)
        windows = []
        skipped = []
        var start = first
        var number = 1
        while start.adding(days: spec.trainDays) <= last {
            let train = DayRange(spec.anchored ? first : start, start.adding(days: spec.trainDays - 1))
            let testStart = start.adding(days: spec.trainDays)
            let test = DayRange(testStart, min(testStart.adding(days: spec.testDays - 1), last))
            let window = WalkForwardWindow(number: number, train: train, test: test)
            let emptyTrain = !held.contains(where: train.contains)
            let emptyTest = !held.contains(where: test.contains)
            if emptyTrain || emptyTest {
                let parts = [emptyTrain ? "train days \(train)" : nil, emptyTest ? "test days \(test)" : nil]
                skipped.append(
                    SkippedWindow(
                        window: window,
                        reason: "its \(parts.compactMap { $0 }.joined(separator: " and ")) hold no ticks"))
            } else {
                windows.append(window)
            }
            start = start.adding(days: spec.stepDays)
            number += 1
        }
        if windows.isEmpty {
            if skipped.isEmpty {
                throw ResearchFailure(
                    "the data spans \(data.count) day\(data.count == 1 ? "" : "s") (\(data)), too short for a \(spec.trainDays)-day training window and a test day after it (train+test: \(spec.trainDays + spec.testDays) days): give more data"
                        + (data.count > 1 ? " or shorter windows, such as train=\(data.count - 1)d,test=1d" : "")
                )
            }
            throw ResearchFailure(
                "no window holds ticks in both its train and test days (\(skipped.map { "\($0.window.train) → \($0.window.test)" }.joined(separator: ", "))): give longer windows or more data"
            )
        }
    }
}
