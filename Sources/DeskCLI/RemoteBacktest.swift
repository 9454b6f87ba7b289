import DeskAPI
import DeskApp
import DeskBacktest
import DeskBacktestEngine
import DeskClient
import DeskCore
import DeskResearch
import DeskRunner
import Foundation

/// `desk backtest --server URL …`: the same backtest submitted to a desk's
/// queue (`POST /backtests`): the strategy's folder uploaded as a tar (as `desk
/// strategies deploy` builds it) when it is on this machine, else the name of one
/// the member deployed; the data files uploaded; progress followed on stderr;
/// the result's files downloaded into `--report` (else `--work`, else a new
/// folder under ./backtests/) and printed as a local run prints them.
public enum RemoteBacktest {
    /// How often the desk is asked how the backtest is going (`DESK_BACKTEST_POLL_SECONDS`, default 0.5).
    static var pollInterval: Duration {
        let seconds = ProcessInfo.processInfo.environment["DESK_BACKTEST_POLL_SECONDS"].flatMap(Double.init) ?? 0.5
        return .milliseconds(Int64(max(0.01, seconds) * 1000))
    }

    public static func command(_ settings: BacktestSettings, _ request: ResearchRequest) async throws {
        guard let server = request.server else { throw DeskCommandError("--server URL is required") }
        let submission = try submission(settings, request)
        let connection = DeskConnection(serverURL: server, token: try token(request, server: server))
        let outcome: Result<Void, any Error>
        do {
            outcome = .success(try await follow(submission, settings, request, connection))
        } catch {
            outcome = .failure(error)
        }
        try? await connection.shutdown()
        do { try outcome.get() } catch { throw MemberCommands.explained(error, server: server) }
    }

    /// The token: `--token`, `DESK_TOKEN`, else the one `desk login` saved for this server.
    static func token(_ request: ResearchRequest, server: String) throws -> String {
        if let token = request.token ?? DeskEnvironment()[.token] { return token }
        if let login = try LoginFile.load(), login.server == server { return login.token }
        throw DeskCommandError(
            "no token for \(server): pass --token, set DESK_TOKEN, or run `desk login --server \(server)`")
    }

    /// What the flags ask, as the desk's `BacktestSubmission`.
    static func submission(_ settings: BacktestSettings, _ request: ResearchRequest) throws -> BacktestSubmission {
        guard settings.strategies.count == 1, let given = settings.strategies.first else {
            throw DeskCommandError(
                "--server runs one strategy: name its folder (uploaded) or a strategy you deployed on the desk")
        }
        var submission = BacktestSubmission(data: try settings.dataFiles.map(upload))
        let folder =
            given.contains("/")
            ? URL(fileURLWithPath: given).standardizedFileURL
            : settings.strategiesDirectory.appendingPathComponent(given)
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent("strategy.py").path) {
            let archive = StrategyArchive.write(try MemberCommands.entries(of: folder.path))
            submission.archive = Data(archive).base64EncodedString()
            submission.name = strategyName(folder.path)
        } else if given.contains("/") {
            throw DeskCommandError(
                "\(given) has no strategy.py: give a strategy's folder, or the name of a strategy you deployed")
        } else {
            submission.strategy = given
        }
        submission.from = settings.firstDay.map { "\($0)" }
        submission.to = settings.lastDay.map { "\($0)" }
        submission.fillAt = settings.fillAt.rawValue
        submission.commission = ExactDecimal.plain(settings.commissionPerShare)
        submission.slippageBps = ExactDecimal.plain(settings.slippageBps)
        submission.capital = ExactDecimal.plain(settings.capital)
        if let file = request.sweepFile {
            guard let data = FileManager.default.contents(atPath: file.path) else {
                throw DeskCommandError("cannot read --sweep \(file.path)")
            }
            do {
                submission.sweep = try JSONDecoder().decode(JSONDocument.self, from: data)
            } catch {
                throw DeskCommandError(
                    "--sweep \(file.path) is not JSON: give {\"grid\": {\"NAME\": [\"1\", \"2\"]}} or {\"random\": {…}}"
                )
            }
            submission.rankBy = request.rankBy.rawValue
        }
        submission.walkForward = request.walkForward
        return submission
    }

    /// A data file on this machine, sent with the request.
    static func upload(_ file: URL) throws -> BacktestDataSet {
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw DeskCommandError("cannot read --data \(file.path): give a .jsonl, .ndjson or .csv file")
        }
        return BacktestDataSet(upload: .init(name: file.lastPathComponent, content: data.base64EncodedString()))
    }

    /// Submits, reports progress on stderr until the backtest is over, then downloads and prints its result.
    static func follow(
        _ submission: BacktestSubmission, _ settings: BacktestSettings, _ request: ResearchRequest,
        _ connection: DeskConnection
    ) async throws {
        var view = try await connection.submitBacktest(submission)
        note("\(view.id): \(view.status.rawValue) on \(request.server ?? "")")
        var shown = (view.status, view.progress)
        while !view.status.isFinal {
            do {
                try await Task.sleep(for: pollInterval)
            } catch {
                _ = try? await connection.cancelBacktest(id: view.id)
                throw error
            }
            view = try await connection.backtest(id: view.id)
            if (view.status, view.progress) != shown {
                shown = (view.status, view.progress)
                note("\(view.id): \(view.status.rawValue), \(view.progress.runsDone)/\(view.progress.runsTotal) runs")
            }
        }
        guard view.status == .completed, let result = view.result else {
            throw DeskCommandError(
                "backtest \(view.id) \(view.status.rawValue): \(view.error ?? "the desk gave no reason")")
        }
        let folder =
            settings.reportDirectory ?? settings.workDirectory
            ?? URL(fileURLWithPath: "backtests").appendingPathComponent(view.id)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw DeskCommandError("cannot create \(folder.path): \(error.localizedDescription)")
        }
        for name in view.files where !name.contains("/") {
            let bytes = try await connection.backtestFile(id: view.id, name: name)
            guard
                FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: Data(bytes))
            else { throw DeskCommandError("cannot write \(folder.appendingPathComponent(name).path)") }
        }
        try show(result: folder.appendingPathComponent(result), json: request.json)
        let page = folder.appendingPathComponent(result.replacingOccurrences(of: ".json", with: ".html"))
        note("report: \(page.path)\nbacktest: \(view.id) on \(request.server ?? "") (cpu \(view.cpuSeconds ?? "?") s)")
    }

    /// Prints the result as a local run does: a single report's table (or `--json` object); a sweep's runs.
    static func show(result file: URL, json: Bool) throws {
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw DeskCommandError("the desk named \(file.lastPathComponent) as the result, but did not serve it")
        }
        if file.lastPathComponent == "report.json" {
            let report: BacktestReport
            do { report = try JSONDecoder().decode(BacktestReport.self, from: data) } catch {
                throw DeskCommandError("\(file.path) is not a backtest report: \(error)")
            }
            printLine(json ? report.json() : BacktestRun.table(report))
        } else if json {
            printLine(String(decoding: data, as: UTF8.self))
        } else {
            printLine(sweepTable(data) ?? String(decoding: data, as: UTF8.self))
        }
    }

    /// A sweep's runs, best first: rank, each parameter, then total_pnl, sharpe and max_drawdown.
    static func sweepTable(_ data: Data) -> String? {
        guard case .object(let sweep)? = try? JSONDecoder().decode(JSONDocument.self, from: data),
            case .array(let runs)? = sweep["runs"]
        else { return nil }
        func text(_ value: JSONDocument?) -> String {
            switch value {
            case .string(let text)?: text
            case .number(let number)?: ExactDecimal.plain(number)
            case .bool(let flag)?: "\(flag)"
            default: ""
            }
        }
        let objects = runs.compactMap { run -> [String: JSONDocument]? in
            if case .object(let object) = run { return object }
            return nil
        }
        let parameters = Set(
            objects.flatMap { run -> [String] in
                if case .object(let params)? = run["params"] { return Array(params.keys) }
                return []
            }
        ).sorted()
        let figures = ["total_pnl", "sharpe", "max_drawdown"]
        let rows = objects.sorted { (Int(text($0["rank"])) ?? .max) < (Int(text($1["rank"])) ?? .max) }.map { run in
            let params: [String: JSONDocument]
            if case .object(let given)? = run["params"] { params = given } else { params = [:] }
            return [text(run["rank"])] + parameters.map { text(params[$0]) } + figures.map { text(run[$0]) }
        }
        return TextTable(headers: ["rank"] + parameters + figures, rows: rows).render()
    }

    static func note(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
