import Foundation

/// A folder with one strategy that prints its own `DESK_TOKEN` into its log (as
/// a hostile strategy would hand it to someone) and then reads the feed until EOF.
public struct TokenLeakingStrategy: Sendable {
    public static let name = "tokenleak"
    public let folder: TemporaryDirectory
    public var strategies: String { folder.path("strategies") }
    public var log: String { folder.path("logs/\(Self.name).log") }

    public init(folder: TemporaryDirectory) throws {
        self.folder = folder
        let strategy = URL(fileURLWithPath: folder.path("strategies")).appendingPathComponent(Self.name)
        try FileManager.default.createDirectory(at: strategy, withIntermediateDirectories: true)
        try #"{"user_id": "alice"}"#.write(
            to: strategy.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try """
        import os, sys
        print("TOKEN", os.environ["DESK_TOKEN"], flush=True)
        for line in sys.stdin:
            pass
        """.write(to: strategy.appendingPathComponent("strategy.py"), atomically: true, encoding: .utf8)
    }

    /// Arguments for `desk serve` that supervise this folder (no sandbox: this is about tokens, not isolation).
    public var serveArguments: [String] { ["--strategies-dir", strategies, "--no-sandbox"] }

    /// The tokens the strategy printed so far, oldest first.
    public func tokens() -> [String] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            line.hasPrefix("TOKEN ") ? String(line.dropFirst("TOKEN ".count)) : nil
        }
    }

    /// Waits until the strategy has printed `count` tokens.
    public func waitForTokens(_ count: Int, seconds: Double = 30) async throws -> [String] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let found = tokens()
            if found.count >= count { return found }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TokenWaitError(log: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "(no log)")
    }

    struct TokenWaitError: Error, CustomStringConvertible {
        public var log: String
        var description: String { "the strategy printed no token; its log:\n\(log)" }
    }
}
