import DeskApp
import DeskServices
import Foundation
import Testing

@Suite("The config file's research section")
struct ResearchConfigTests {
    @Test("research: the caps, the data folder, the feed's retention and a Ray cluster; defaults when absent")
    func research() throws {
        let text = """
            {"research": {"concurrency": 2, "member_concurrency": 1, "member_queued": 3,
                          "member_cpu_seconds_per_day": 600, "jobs": 2, "data_folder": "/srv/research",
                          "feed_retention_days": 0, "ray_address": "ray://127.0.0.1:6391", "ray_python": "/opt/py"}}
            """
        let research = try DeskConfigFile.parse(Array(text.utf8), path: "desk.json").research
        #expect(research.concurrency == 2 && research.memberConcurrency == 1 && research.memberQueued == 3)
        #expect(research.memberCPUSecondsPerDay == 600 && research.jobs == 2 && research.feedRetentionDays == 0)
        #expect(research.dataFolder(databasePath: "/x/desk.db").path == "/srv/research")
        #expect(research.rayAddress == "ray://127.0.0.1:6391" && research.rayPython == "/opt/py")
        let defaults = try DeskConfigFile.parse(Array("{}".utf8), path: "desk.json").research
        #expect(defaults == ResearchSettings())
        #expect(defaults.dataFolder(databasePath: "/x/desk.db").path == "/x/research")
    }

    @Test(
        "bad research values are refused with the key and what is allowed",
        arguments: [
            (#"{"research": {"concurrency": 0}}"#, #""research.concurrency" must be a positive whole number"#),
            (#"{"research": {"feed_retention_days": -1}}"#, "research.feed_retention_days must be 0"),
            (#"{"research": {"ray_address": "10.0.0.5:10001"}}"#, "must be a Ray client address, ray://HOST:PORT"),
            (#"{"research": {"workers": 3}}"#, "workers"),
        ])
    func refused(text: String, message: String) {
        #expect {
            try DeskConfigFile.parse(Array(text.utf8), path: "desk.json")
        } throws: { error in
            "\(error)".contains(message)
        }
    }
}
