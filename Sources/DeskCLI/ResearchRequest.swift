import DeskResearch
import Foundation

/// What `desk backtest`'s research flags asked for, beside the settings of one
/// run: a sweep, a walk-forward, where the runs go (this machine, a Ray cluster,
/// or a desk's queue with `--server`).
public struct ResearchRequest: Sendable {
    /// `--sweep SWEEP.json`.
    public var sweepFile: URL?
    /// `--walk-forward train=60d,test=20d[,step=20d][,anchored]`, as given.
    public var walkForward: String?
    /// `--rank-by`.
    public var rankBy: RankBy
    /// `--jobs`: runs at once on this machine (default: the cores).
    public var jobs: Int
    /// `--heatmap A,B`: the two parameters of sweep.html's heatmap (default: the first two).
    public var heatmap: [String]?
    /// `--cluster ray://HOST:PORT`: the runs as Ray tasks on that cluster.
    public var cluster: String?
    /// `--server URL` and `--token`: submit to that desk's backtest queue instead.
    public var server: String?
    public var token: String?
    /// The flags each run gets unchanged (`--fill-at`, `--commission`, `--config`, …; paths absolute).
    public var options: [String]
    /// `--json`: the result as one JSON object on stdout.
    public var json: Bool

    public init(
        sweepFile: URL? = nil, walkForward: String? = nil, rankBy: RankBy = .totalPnL,
        jobs: Int = LocalExecutor.cores, heatmap: [String]? = nil, cluster: String? = nil, server: String? = nil,
        token: String? = nil, options: [String] = [], json: Bool = false
    ) {
        self.sweepFile = sweepFile
        self.walkForward = walkForward
        self.rankBy = rankBy
        self.jobs = jobs
        self.heatmap = heatmap
        self.cluster = cluster
        self.server = server
        self.token = token
        self.options = options
        self.json = json
    }

    /// Where this request's runs execute: the Ray cluster of `--cluster`, else this machine.
    public func executor() throws -> any BacktestExecutor {
        if let cluster { return try ResearchCluster.executor(address: cluster) }
        return LocalExecutor(deskBinary: LocalExecutor.currentBinary, parallel: jobs)
    }
}
