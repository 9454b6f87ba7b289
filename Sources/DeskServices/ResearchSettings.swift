import Foundation

/// The config file's `research` section: backtests members submit to the desk
/// (`POST /backtests`), the feed the desk records for them, and a Ray cluster
/// for their runs.
///
/// ```json
/// "research": {"concurrency": 1, "member_concurrency": 1, "member_queued": 5,
///              "member_cpu_seconds_per_day": 7200, "jobs": 1,
///              "data_folder": "/srv/desk/research", "feed_retention_days": 30,
///              "ray_address": "ray://10.0.0.5:10001", "ray_python": "/opt/ray/bin/python"}
/// ```
public struct ResearchSettings: Sendable, Equatable {
    /// Backtests running at once on the desk (`concurrency`, default 1).
    public var concurrency = 1
    /// One member's backtests running at once (`member_concurrency`, default 1).
    public var memberConcurrency = 1
    /// One member's backtests queued or running at once (`member_queued`, default 5).
    public var memberQueued = 5
    /// CPU seconds one member's backtests may use per day, New York date
    /// (`member_cpu_seconds_per_day`, default 7200).
    public var memberCPUSecondsPerDay = 7200
    /// Runs at once within one backtest's sweep (`jobs`, default 1).
    public var jobs = 1
    /// The research data folder (`data_folder`; nil: `research` beside the ledger):
    /// data files by name (`desk data fetch --out` there), the recorded feed in `feed/`,
    /// the submitted backtests' work folders in `backtests/`.
    public var dataFolder: String?
    /// Days of recorded feed kept (`feed_retention_days`, default 30; 0: the feed is not recorded).
    public var feedRetentionDays = 30
    /// A Ray cluster for the runs of sweeps and walk-forwards (`ray_address`, `ray://HOST:PORT`); nil: this machine.
    public var rayAddress: String?
    /// The Python with Ray installed that drives the cluster (`ray_python`; nil: `python3`).
    public var rayPython: String?

    public init() {}

    /// The research data folder for a desk whose ledger is `databasePath`.
    public func dataFolder(databasePath: String) -> URL {
        if let dataFolder { return URL(fileURLWithPath: dataFolder).standardizedFileURL }
        return URL(fileURLWithPath: databasePath).deletingLastPathComponent().appendingPathComponent("research")
            .standardizedFileURL
    }
}
