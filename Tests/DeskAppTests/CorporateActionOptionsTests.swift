import DeskApp
import DeskAppTestSupport
import DeskCore
import Foundation
import Testing

@Suite("desk serve: --corporate-actions and DESK_CORPORATE_ACTIONS_INTERVAL")
struct CorporateActionOptionsTests {
    @Test("the file is read into the configuration; a bad line or interval is refused, named")
    func options() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("desk-ca-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = folder.appendingPathComponent("good.jsonl").path
        let bad = folder.appendingPathComponent("bad.jsonl").path
        try Data(#"{"type":"split","symbol":"AAPL","ex_date":"2026-03-02","ratio":"4"}"#.utf8)
            .write(to: URL(fileURLWithPath: good))
        try Data("\n{\"type\":\"split\",\"symbol\":\"AAPL\",\"ex_date\":\"2026-03-02\"}\n".utf8)
            .write(to: URL(fileURLWithPath: bad))
        let configuration = try serveConfiguration(
            ["--corporate-actions", good], ["DESK_CORPORATE_ACTIONS_INTERVAL": "0.5"]
        ).get()
        #expect(configuration.corporateActions.map(\.id) == ["split:AAPL:2026-03-02:4"])
        #expect(configuration.corporateActionsInterval == .milliseconds(500))
        #expect(try serveConfiguration([]).get().corporateActionsInterval == .seconds(900))
        let cases: [([String], [String: String], String)] = [
            (["--corporate-actions", bad], [:], "--corporate-actions \(bad):2: ratio is missing"),
            (["--corporate-actions", folder.appendingPathComponent("none").path], [:], "cannot read"),
            ([], ["DESK_CORPORATE_ACTIONS_INTERVAL": "0"], "DESK_CORPORATE_ACTIONS_INTERVAL=0 must be a number"),
        ]
        for (arguments, environment, fragment) in cases {
            guard case .failure(let refusal) = serveConfiguration(arguments, environment) else {
                Issue.record("\(arguments) \(environment) was accepted")
                continue
            }
            #expect(refusal.message.contains(fragment), "\(refusal.message)")
        }
    }
}
