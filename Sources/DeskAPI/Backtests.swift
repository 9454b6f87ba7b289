import Foundation

/// `POST /backtests`: a backtest the desk runs for the caller, queued. The
/// strategy is one of the caller's deployed folders (`strategy`) or an uploaded
/// one (`archive`, a tar as `PUT /strategies/{name}` takes, base64, with `name`);
/// the data is data sets the desk holds or an uploaded file; the options are
/// `desk backtest`'s, under the same names (`_` for `-`).
public struct BacktestSubmission: APIRequestBody, Equatable {
    /// One of the caller's deployed strategies, by the name the member uses.
    public var strategy: String?
    /// An uploaded strategy folder: a tar, base64.
    public var archive: String?
    /// The uploaded folder's name (with `archive`).
    public var name: String?
    /// The ticks, merged by time.
    public var data: [BacktestDataSet]
    /// `--from` / `--to`: New York dates, both included.
    public var from: String?
    public var to: String?
    public var fillAt: String?
    public var commission: String?
    public var slippageBps: String?
    public var capital: String?
    /// A parameter sweep: SWEEP.json's object.
    public var sweep: JSONDocument?
    /// `train=60d,test=20d[,step=20d][,anchored]` (with `sweep`).
    public var walkForward: String?
    public var rankBy: String?
    /// Runs at once within this backtest (the desk caps it).
    public var jobs: Int?

    enum CodingKeys: String, CodingKey {
        case strategy, archive, name, data, from, to, commission, capital, sweep, jobs
        case fillAt = "fill_at", slippageBps = "slippage_bps", walkForward = "walk_forward", rankBy = "rank_by"
    }

    public init(
        strategy: String? = nil, archive: String? = nil, name: String? = nil, data: [BacktestDataSet],
        from: String? = nil, to: String? = nil, fillAt: String? = nil, commission: String? = nil,
        slippageBps: String? = nil, capital: String? = nil, sweep: JSONDocument? = nil, walkForward: String? = nil,
        rankBy: String? = nil, jobs: Int? = nil
    ) {
        self.strategy = strategy
        self.archive = archive
        self.name = name
        self.data = data
        self.from = from
        self.to = to
        self.fillAt = fillAt
        self.commission = commission
        self.slippageBps = slippageBps
        self.capital = capital
        self.sweep = sweep
        self.walkForward = walkForward
        self.rankBy = rankBy
        self.jobs = jobs
    }

    public static let example =
        #"{"strategy": "trend", "data": [{"file": "aapl-2026.jsonl"}], "sweep": {"grid": {"WINDOW": ["10", "20"]}}, "rank_by": "sharpe"}"#
}

/// A data set a submitted backtest reads: exactly one of the three.
public struct BacktestDataSet: Codable, Sendable, Equatable {
    /// A file in the desk's research data folder (`desk data fetch` downloads), by name.
    public var file: String?
    /// The feed the desk recorded, these New York days (both included).
    public var recorded: DayRange?
    /// A file sent with the request (within the upload limits).
    public var upload: Upload?

    public struct DayRange: Codable, Sendable, Equatable {
        public var from: String
        public var to: String
        public init(from: String, to: String) {
            self.from = from
            self.to = to
        }
    }

    public struct Upload: Codable, Sendable, Equatable {
        /// `NAME.jsonl`, `.ndjson` or `.csv`: the format, as `desk backtest --data` reads it.
        public var name: String
        /// The file, base64.
        public var content: String
        public init(name: String, content: String) {
            self.name = name
            self.content = content
        }
    }

    public init(file: String? = nil, recorded: DayRange? = nil, upload: Upload? = nil) {
        self.file = file
        self.recorded = recorded
        self.upload = upload
    }
}

/// Where a submitted backtest is.
public enum BacktestStatus: String, Codable, Sendable, CaseIterable {
    case queued, running, completed, failed, canceled

    /// Over: it will not change again.
    public var isFinal: Bool { self == .completed || self == .failed || self == .canceled }
}

/// A submitted backtest, as `GET /backtests/{id}` shows it.
public struct BacktestView: Codable, Sendable, Equatable {
    /// `bt-…`.
    public var id: String
    public var member: String
    /// The strategy's name (the deployed folder's, or the upload's).
    public var strategy: String
    public var status: BacktestStatus
    /// ISO 8601, UTC.
    public var createdAt: String
    public var startedAt: String?
    public var endedAt: String?
    public var progress: Progress
    /// CPU time of the run and its strategies so far.
    public var cpuSeconds: String?
    /// Why it failed (or was canceled).
    public var error: String?
    /// The main result's file: `report.json`, `sweep.json` or `walkforward.json` (when completed).
    public var result: String?
    /// The files `GET /backtests/{id}/files/{name}` serves.
    public var files: [String]

    public struct Progress: Codable, Sendable, Equatable {
        public var runsDone: Int
        public var runsTotal: Int
        enum CodingKeys: String, CodingKey {
            case runsDone = "runs_done", runsTotal = "runs_total"
        }
        public init(runsDone: Int, runsTotal: Int) {
            self.runsDone = runsDone
            self.runsTotal = runsTotal
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, member, strategy, status, progress, error, result, files
        case createdAt = "created_at", startedAt = "started_at", endedAt = "ended_at", cpuSeconds = "cpu_seconds"
    }

    public init(
        id: String, member: String, strategy: String, status: BacktestStatus, createdAt: String,
        startedAt: String? = nil, endedAt: String? = nil, progress: Progress, cpuSeconds: String? = nil,
        error: String? = nil, result: String? = nil, files: [String] = []
    ) {
        self.id = id
        self.member = member
        self.strategy = strategy
        self.status = status
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.progress = progress
        self.cpuSeconds = cpuSeconds
        self.error = error
        self.result = result
        self.files = files
    }
}

/// `GET /backtests`: the caller's (an officer's or the admin's: everyone's), newest first.
public struct BacktestList: Codable, Sendable, Equatable {
    public var backtests: [BacktestView]
    public init(backtests: [BacktestView]) { self.backtests = backtests }
}

/// Any JSON value, kept as it came (numbers as their text, so nothing is rounded):
/// what a request carries through to a file the desk hands on (a sweep's SWEEP.json).
public indirect enum JSONDocument: Codable, Sendable, Equatable {
    case object([String: JSONDocument])
    case array([JSONDocument])
    case string(String)
    case number(Decimal)
    case bool(Bool)
    case null

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode(Decimal.self) {
            self = .number(value)
        } else if let value = try? container.decode([JSONDocument].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONDocument].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .object(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    /// The value as JSON text (keys sorted).
    public var data: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("null".utf8)
    }
}
