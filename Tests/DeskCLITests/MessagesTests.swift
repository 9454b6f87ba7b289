import DeskTestSupport
import Foundation
import Testing

@testable import DeskCLI

/// What the CLI says to a new member: help, versions, errors and figures (issue 23's messages).
@Suite("Messages and formatting")
struct MessagesTests {
    @Test(
        "--help says each default once, names its values, and says who may run a command",
        arguments: [
            (["backtest", "--help"], "(default: 0)", "(default 0)"),
            (["data", "fetch", "--help"], "-o, --output <file>", "(default 1Min)"),
            (["demo", "--help"], "as said above", "see below"),
            (["halt", "--help"], "Admins and officers", "(default"),
            (["resume", "--help"], "Admins and officers", "(default"),
            (["reconcile", "--help"], "Admin only", "(default"),
        ])
    func help(arguments: [String], says: String, never: String) async throws {
        let result = try await runDesk(arguments)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains(says), "\(result.output)")
        #expect(!result.output.contains(never), "\(result.output)")
    }

    @Test("desk --version")
    func version() async throws {
        let result = try await runDesk(["--version"])
        #expect(result.status == 0 && result.output.trimmingCharacters(in: .whitespacesAndNewlines) == "desk 2.0.0")
    }

    @Test("a backtest's error is an Error: line; an unreadable strategies folder says --strategies")
    func backtestError() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try "{\"symbol\":\"AAPL\",\"price\":1,\"ts\":\"2026-11-16T14:31:00Z\"}\n".write(
            toFile: folder.path("ticks.jsonl"), atomically: true, encoding: .utf8)
        let result = try await runDesk(
            ["backtest", "--data", folder.path("ticks.jsonl"), "--strategies", folder.path("nowhere")], in: folder.url)
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("Error: cannot read the strategies folder"), "\(result.output)")
        #expect(result.output.contains("pass --strategies FOLDER"), "\(result.output)")
        #expect(!result.output.contains("desk backtest:") && !result.output.contains("strategy .:"), "\(result.output)")
    }

    @Test(
        "figures: prices without padded zeros, money as money, counts in words",
        arguments: [
            (ReportFormat.price(Decimal(string: "190.97098")!), "190.971"),
            (ReportFormat.price(Decimal(string: "190.9710")!), "190.971"),
            (ReportFormat.price(Decimal(string: "189.51")!), "189.51"),
            (ReportFormat.price(Decimal(string: "189.5")!), "189.50"),
            (ReportFormat.price(Decimal(string: "0.1234")!), "0.1234"),
            (ReportFormat.money("989272.1"), "989272.10"),
            (ReportFormat.money("not reported"), "not reported"),
            (ReportFormat.count(1, "file"), "1 file"),
            (ReportFormat.count(2, "file"), "2 files"),
        ])
    func figures(shown: String, expected: String) {
        #expect(shown == expected)
    }
}
