import DeskBroker
import DeskCore
import Foundation

/// Everything `desk serve` needs, resolved from flags, environment and the config file.
public struct DeskConfiguration: Sendable {
    /// TCP listen address (`127.0.0.1` by default; `0.0.0.0` to accept other hosts).
    public var host: String
    /// TCP port (`PORT`, default 8080; 0 picks a free one).
    public var port: Int
    /// Also listen on this unix socket (`DESK_UNIX_SOCKET`): what sandboxed strategies use.
    public var unixSocketPath: String?
    /// SQLite ledger file (`DB_PATH`, default ./trading_desk.db).
    public var databasePath: String
    /// Development only: accept the seed's self-declared `X-User-ID` header without a token.
    public var trustUserHeader: Bool
    /// Pre-trade limits.
    public var risk: RiskPolicy
    /// When day orders expire.
    public var session: SessionCalendar
    /// Batch concurrent order writes into one transaction (off only to measure it).
    public var groupCommit: Bool
    /// Largest request body accepted, in bytes.
    public var maximumBodySize: Int

    public init(
        host: String = "127.0.0.1", port: Int = 8080, unixSocketPath: String? = nil,
        databasePath: String = "./trading_desk.db", trustUserHeader: Bool = false, risk: RiskPolicy = RiskPolicy(),
        session: SessionCalendar = SessionCalendar(), groupCommit: Bool = true, maximumBodySize: Int = 64 * 1024
    ) {
        self.host = host
        self.port = port
        self.unixSocketPath = unixSocketPath
        self.databasePath = databasePath
        self.trustUserHeader = trustUserHeader
        self.risk = risk
        self.session = session
        self.groupCommit = groupCommit
        self.maximumBodySize = maximumBodySize
    }
}
