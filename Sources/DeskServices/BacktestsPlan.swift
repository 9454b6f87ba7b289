import DeskAPI
import DeskBroker
import DeskResearch
import Foundation

/// The pure rules of a submitted backtest: which of its data names and options
/// the desk takes, and the `desk backtest` flags they become. Tested by tables.
public enum BacktestPlan {
    /// The formats `desk backtest --data` reads, by their names' endings.
    public static let dataExtensions = ["jsonl", "ndjson", "csv"]

    /// The result files `GET /backtests/{id}/files/{name}` serves.
    public static let servedFiles = [
        "report.html", "report.json", "equity.csv", "sweep.json", "sweep.html", "walkforward.json",
        "walkforward.html",
    ]
    /// The files of one run of a sweep (`GET /backtests/{id}/runs/{run}/{name}`).
    public static let runFiles = ["report.html", "report.json", "equity.csv"]

    /// Whether `run` names a sweep's run: four digits.
    public static func isRun(_ run: String) -> Bool {
        run.count == 4 && run.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// `name` as a data file's name (in the research data folder, or an upload's), or why not.
    public static func checkDataName(_ name: String, what: String) throws(BacktestRefusal) {
        let ending = name.split(separator: ".").last.map { String($0).lowercased() } ?? ""
        let safe =
            !name.isEmpty && name.count <= 200 && !name.contains("/") && !name.contains("\\") && !name.contains("..")
            && !name.hasPrefix(".") && name.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7f }
        guard safe, name.contains("."), dataExtensions.contains(ending) else {
            throw .invalid(
                "\(what) \"\(name)\" is not allowed: a file name such as aapl-2026.jsonl (no '/', no '..', not starting with '.'), ending .jsonl, .ndjson or .csv"
            )
        }
    }

    /// `text` as a New York date `YYYY-MM-DD`, or why not.
    public static func checkDay(_ text: String, field: String) throws(BacktestRefusal) -> DateComponents {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.count == 10, parts.count == 3, parts.allSatisfy({ $0.allSatisfy(\.isNumber) }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1...12).contains(month), (1...31).contains(day)
        else { throw .invalid("\(field) \"\(text)\" is not a date: YYYY-MM-DD, a New York day") }
        return DateComponents(year: year, month: month, day: day)
    }

    /// How many bytes of a file are whole lines, given its last bytes (`tail`, which
    /// start at `tailStart`): up to and including the last newline. A recorded day the
    /// recorder is still appending to may end in part of a line; a backtest takes the
    /// whole lines only.
    public static func wholeLinesLength(tail: Data, tailStart: Int) -> Int {
        guard let last = tail.lastIndex(of: UInt8(ascii: "\n")) else { return tailStart }
        return tailStart + (last - tail.startIndex) + 1
    }

    /// The New York days from `from` to `to`, both included (at most 366).
    public static func days(from: String, to: String) throws(BacktestRefusal) -> [String] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let first = calendar.date(from: try checkDay(from, field: "recorded.from")),
            let last = calendar.date(from: try checkDay(to, field: "recorded.to"))
        else { throw .invalid("recorded: \(from) to \(to) are not dates") }
        guard first <= last else { throw .invalid("recorded: from \(from) is after to \(to)") }
        var days: [String] = []
        var day = first
        while day <= last {
            let parts = calendar.dateComponents([.year, .month, .day], from: day)
            days.append(String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!))
            guard days.count <= 366 else { throw .invalid("recorded: at most 366 days at once") }
            day = calendar.date(byAdding: .day, value: 1, to: day)!
        }
        return days
    }

    /// A decimal option's value (`commission`, `slippage_bps`, `capital`), or why not.
    static func checkDecimal(_ value: String, field: String) throws(BacktestRefusal) -> String {
        let digits = value.hasPrefix("-") ? value.dropFirst() : Substring(value)
        guard !digits.isEmpty, digits.count <= 30, digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            digits.filter({ $0 == "." }).count <= 1, !value.hasPrefix("-")
        else { throw .invalid("\(field) \"\(value)\" is not a non-negative decimal number as text, such as \"0.005\"") }
        return value
    }

    /// The `desk backtest` flags of `submission`'s options (after the data and the
    /// strategies): its `sweep` written at `sweepFile`, at most `research.jobs` runs at
    /// once, the desk's Ray cluster for a sweep's runs, the desk's `configFile`.
    public static func flags(
        _ submission: BacktestSubmission, research: ResearchSettings, configFile: String?, sweepFile: String
    ) throws(BacktestRefusal) -> [String] {
        var flags: [String] = []
        if let fillAt = submission.fillAt {
            guard PaperBook.FillModel(rawValue: fillAt) != nil else {
                throw .invalid(
                    "fill_at \"\(fillAt)\" is not one: \(PaperBook.FillModel.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            flags += ["--fill-at", fillAt]
        }
        if let commission = submission.commission {
            flags += ["--commission", try checkDecimal(commission, field: "commission")]
        }
        if let slippage = submission.slippageBps {
            flags += ["--slippage-bps", try checkDecimal(slippage, field: "slippage_bps")]
        }
        if let capital = submission.capital { flags += ["--capital", try checkDecimal(capital, field: "capital")] }
        if let configFile { flags += ["--config", configFile] }
        if let rankBy = submission.rankBy {
            guard RankBy(rawValue: rankBy) != nil else {
                throw .invalid(
                    "rank_by \"\(rankBy)\" is not one: \(RankBy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if let jobs = submission.jobs, jobs < 1 {
            throw .invalid("jobs \(jobs) is not allowed: at least 1 (the desk runs at most \(research.jobs) at once)")
        }
        guard submission.sweep != nil else {
            if submission.walkForward != nil {
                throw .invalid("walk_forward chooses among the runs of a sweep: send \"sweep\" too")
            }
            if submission.rankBy != nil { throw .invalid("rank_by ranks the runs of a sweep: send \"sweep\" too") }
            return flags
        }
        flags += ["--sweep", sweepFile]
        if let walkForward = submission.walkForward {
            guard !walkForward.isEmpty, !walkForward.hasPrefix("-"),
                walkForward.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "=" || $0 == ",") })
            else {
                throw .invalid(
                    "walk_forward \"\(walkForward)\" is not a spec such as train=60d,test=20d[,step=20d][,anchored]")
            }
            flags += ["--walk-forward", walkForward]
        }
        if let rankBy = submission.rankBy { flags += ["--rank-by", rankBy] }
        flags += ["--jobs", "\(min(submission.jobs ?? research.jobs, max(1, research.jobs)))"]
        if let cluster = research.rayAddress { flags += ["--cluster", cluster] }
        return flags
    }

    /// The environment of a backtest's child process, built from nothing: the
    /// desk's `PATH`, `LANG` and the strategies' interpreter settings
    /// (`DESK_PYTHONPATH`, `DESK_PYTHON`), the Python that drives a Ray cluster
    /// (`research.ray_python`, else the desk's `DESK_RAY_PYTHON`), and `home` as
    /// `HOME` — never the desk's broker keys or tokens.
    public static func environment(from desk: [String: String], home: String, rayPython: String? = nil)
        -> [String: String]
    {
        var environment = ["HOME": home, "PATH": desk["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"]
        for name in ["LANG", "DESK_PYTHONPATH", "DESK_PYTHON", "DESK_RAY_PYTHON"] { environment[name] = desk[name] }
        if let rayPython { environment["DESK_RAY_PYTHON"] = rayPython }
        return environment
    }

    /// The New York day of `date`, `YYYY-MM-DD`: the day CPU budgets count.
    public static func newYorkDay(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "America/New_York")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }
}
