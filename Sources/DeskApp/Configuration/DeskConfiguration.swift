import AlpacaBroker
import AlpacaData
import DeskBroker
import DeskCore
import DeskHTTP
import DeskLedger
import DeskMarketData
import DeskPromotion
import DeskRunner
import DeskServices
import Foundation

/// Where market data comes from.
public enum FeedSetting: Sendable {
    /// No feed: prices only from `POST /admin/prices`.
    case none
    /// A seeded random walk whose quotes are `spread` dollars wide.
    case synthetic(
        symbols: [String: Decimal], ticksPerSecond: Double, seed: UInt64,
        spread: Decimal = SyntheticSource.defaultSpread)
    /// A recorded file.
    case replay(path: String, speed: ReplaySpeed)
    /// Alpaca's data stream, subscribed to what strategies want; `defaultSymbols`
    /// while one of them wants every symbol.
    case alpaca(AlpacaSettings, defaultSymbols: Set<String>)

    /// The synthetic feed's symbols unless told otherwise.
    public static let defaultSymbols: [String: Decimal] = [
        "AAPL": Decimal(string: "190.00")!, "MSFT": Decimal(string: "420.00")!, "GOOG": Decimal(string: "170.00")!,
        "AMZN": Decimal(string: "185.00")!, "TSLA": Decimal(string: "240.00")!,
    ]
}

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
    /// The config file it was read from (`--config`), if any.
    public var configFilePath: String?
    /// Development only: accept the seed's self-declared `X-User-ID` header without a token.
    public var trustUserHeader: Bool
    /// Pre-trade limits.
    public var risk: RiskPolicy
    /// When day orders expire.
    public var session: SessionCalendar
    /// Splits and dividends the paper venues apply on their ex-dates (`--corporate-actions`).
    public var corporateActions: [CorporateAction] = []
    /// Batch concurrent order writes into one transaction (off only to measure it).
    public var groupCommit: Bool
    /// How each ledger commit reaches the disk: `.full` (no flag or variable of `desk serve`
    /// changes it); `desk backtest` sets `.backtest` (see `DeskEnvironment.backtestLedgerDurability()`).
    public var ledgerDurability: LedgerDurability = .full
    /// Largest request body accepted, in bytes.
    public var maximumBodySize: Int
    /// The market data feed.
    public var feed: FeedSetting = .none
    /// Every venue of the desk (the config file's `venues`, `--broker alpaca`'s
    /// `alpaca`), with what each names in the environment resolved; `paper` always.
    public var venues: [VenueConfiguration] = [
        VenueConfiguration(name: DeskConfiguration.paperVenue, settings: PaperVenue.Settings())
    ]
    /// The venue orders go to (`default_venue`; `alpaca` with `--broker alpaca`).
    public var defaultVenue = DeskConfiguration.paperVenue
    /// The strategy supervisor; nil runs no strategies.
    public var runtime: SupervisorConfiguration?
    /// Idle, request head and request body timeouts, and the connection cap of each listener.
    public var connections = ConnectionSettings()
    /// The group the unix socket belongs to (mode 0660: only the desk's user and
    /// this group connect). `desk serve` resolves it to `--socket-group`, else
    /// `defaultSocketGroup` when the desk runs as root, else the desk's own gid;
    /// nil leaves the socket in the desk's own group. Sandboxed strategies get
    /// this gid as a supplementary group.
    public var unixSocketGroup: UInt32?
    /// The web desk's sessions, live updates and P&L history (the config file's `web`).
    public var web = WebSettings()
    /// The most a deployed strategy's archive may hold (the config file's `strategies.upload`).
    public var upload = ArchiveLimits()
    /// Backtests members submit, the recorded feed, a Ray cluster (the config file's `research`).
    public var research = ResearchSettings()
    /// The loss rules each venue's strategies and members' books keep (the config file's `loss` entries);
    /// none by default.
    public var loss: LossPolicy
    /// Where times and order ids come from: the wall clock, or a backtest's data.
    public var clock: any DeskClock = WallClock()
    /// Which price a new order on the `paper` venue first meets.
    public var paperFills: PaperBook.FillModel {
        get { paperSettings.fills }
        set { paperSettings.fills = newValue }
    }
    /// The slippage of market fills on the `paper` venue, in basis points.
    public var slippageBps: Decimal {
        get { paperSettings.slippageBps }
        set { paperSettings.slippageBps = newValue }
    }
    /// The desk expires day orders at each session close by the wall clock; false
    /// when whoever drives the clock does it (a backtest, at the data's close).
    public var closesSessions = true
    /// A backtest in stream mode: the gate every request of a strategy's token
    /// passes, so it is taken at the turn of the line its strategy had read. Nil
    /// on a live desk (no gate at all).
    public var requestGate: StreamGate?
    /// Tests only (`DESK_TEST_PAUSE_AFTER_MOVE`, seconds): a promotion waits this long between
    /// the ledger's move and the rest of it (cancels, restart), so a test can kill the desk in between.
    public var pauseAfterMove: Duration?

    /// The variable that sets `pauseAfterMove` (a test's hook, not a setting: `desk serve --help` does not list it).
    public static let pauseAfterMoveVariable = "DESK_TEST_PAUSE_AFTER_MOVE"

    /// How often the desk asks each venue with an account of its own (Alpaca) for the corporate
    /// actions it applied (`DESK_CORPORATE_ACTIONS_INTERVAL`, seconds; reconciliation asks too).
    public var corporateActionsInterval: Duration = .seconds(900)

    /// The variable that sets `corporateActionsInterval`.
    public static let corporateActionsIntervalVariable = "DESK_CORPORATE_ACTIONS_INTERVAL"

    /// The promotion rules of the configured venues: what each asks of a strategy moving onto it.
    public var promotionRules: PromotionRules {
        PromotionRules(
            venues: Dictionary(
                venues.map {
                    (
                        $0.name,
                        VenueEntryRules(
                            requiresApproval: $0.requiresApproval, minPaperDays: $0.minPaperDays, minFills: $0.minFills)
                    )
                }, uniquingKeysWith: { first, _ in first }))
    }

    /// The unix socket's group when the desk runs as root and no `--socket-group` is given.
    public static let defaultSocketGroup: UInt32 = 60_999

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
        loss = LossPolicy(paperVenue: Self.paperVenue)
    }
}

extension DeskConfiguration {
    /// The name of the embedded paper venue every desk has.
    public static let paperVenue = "paper"

    /// The settings of the `paper` venue.
    var paperSettings: PaperVenue.Settings {
        get {
            venues.first { $0.name == Self.paperVenue }?.settings as? PaperVenue.Settings ?? PaperVenue.Settings()
        }
        set {
            if let index = venues.firstIndex(where: { $0.name == Self.paperVenue }) {
                venues[index].settings = newValue
            } else {
                venues.insert(VenueConfiguration(name: Self.paperVenue, settings: newValue), at: 0)
            }
        }
    }
}
