import SandboxSpec
import Testing

@Suite("The sandbox spec frame and the mount plan")
struct SandboxSpecTests {
    @Test("a spec survives its frame; the length comes first")
    func roundTrip() throws {
        let spec = SandboxSpec(
            program: ["/usr/bin/python3", "-s", "-u", "/x/strategy.py"], environment: ["A=1", "B=two=2", "EMPTY="],
            workingDirectory: "/x", user: .init(uid: 61_001, gid: 61_001, groups: [60_999]), isolate: true,
            isolateNetwork: true, limits: [.init(.addressSpace, 1 << 30), .init(.processes, 64)],
            hidden: ["/srv/desk"], exposed: [.init("/srv/desk/clients"), .init("/home/x", writable: true)],
            privateFolders: ["/tmp"], privateFolderBytes: 1 << 20)
        let frame = spec.encoded()
        let length = try SandboxSpec.payloadLength(header: Array(frame.prefix(4)))
        #expect(length == frame.count - 4)
        #expect(try SandboxSpec.decode(payload: Array(frame.dropFirst(4))) == spec)
    }

    @Test(
        "how reads of stdin are watched survives the frame: not, every read, or a stdin of packets",
        arguments: [(nil, nil), ("/srv/desk/sandbox/a.ready", nil), ("/srv/desk/sandbox/a.ready", 512)]
            as [(String?, Int?)])
    func readWatch(readiness: String?, packetThreshold: Int?) throws {
        let spec = SandboxSpec(
            program: ["/usr/bin/python3"], environment: [], isolate: true, readiness: readiness,
            packetThreshold: packetThreshold)
        let decoded = try SandboxSpec.decode(payload: Array(spec.encoded().dropFirst(4)))
        #expect(decoded.readiness == readiness)
        #expect(decoded.packetThreshold == packetThreshold)
        #expect(decoded == spec)
    }

    @Test(
        "bad frames are refused with what is wrong",
        arguments: [
            (Array("nonsense".utf8), "not a desk-sandbox/1 spec"),
            (Array("desk-sandbox/1\0arg\0".utf8), "ends in the middle"),
            (Array("desk-sandbox/1\0arg\0python\0".utf8), "absolute path"),
            (Array("desk-sandbox/1\0arg\0/bin/x\0uid\0abc\0".utf8), "is not a number"),
            (Array("desk-sandbox/1\0arg\0/bin/x\0uid\05\0".utf8), "without a gid"),
            (Array("desk-sandbox/1\0arg\0/bin/x\0hide\0/a/../etc\0".utf8), "without .."),
            (Array("desk-sandbox/1\0arg\0/bin/x\0env\0NOEQUALS\0".utf8), "NAME=value"),
            (Array("desk-sandbox/1\0arg\0/bin/x\0colour\0red\0".utf8), "unknown spec key"),
            (Array("desk-sandbox/1\0arg\0/bin/x\0readiness\0/r\0packets\0x\0".utf8), "1 … 4096 bytes"),
            (Array("desk-sandbox/1\0arg\0/bin/x\0readiness\0/r\0packets\00\0".utf8), "1 … 4096 bytes"),
            (Array("desk-sandbox/1\0arg\0/bin/x\0readiness\0/r\0packets\04097\0".utf8), "1 … 4096 bytes"),
            (Array("desk-sandbox/1\0arg\0/bin/x\0packets\0512\0".utf8), "without a readiness FIFO"),
        ])
    func badFrames(payload: [UInt8], message: String) {
        #expect {
            try SandboxSpec.decode(payload: payload)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test("frame lengths outside 1 byte … 1 MiB are refused")
    func lengths() {
        #expect(throws: SandboxSpec.Problem.self) { try SandboxSpec.payloadLength(header: [0, 0, 0, 0]) }
        #expect(throws: SandboxSpec.Problem.self) { try SandboxSpec.payloadLength(header: [0x7f, 0, 0, 0]) }
        #expect(throws: SandboxSpec.Problem.self) { try SandboxSpec.payloadLength(header: [0, 1]) }
    }

    typealias Entry = MountPlan.Entry

    struct PlanCase: Sendable, CustomTestStringConvertible {
        var label: String
        var hidden: [Entry]
        var exposed: [Entry]
        var privateFolders: [String] = []
        var links: [MountPlan.Link] = []
        var unsearchable: Set<String> = []
        var steps: [MountPlan.Step]
        var testDescription: String { label }
    }

    static let planCases: [PlanCase] = [
        PlanCase(label: "nothing hidden, nothing to do", hidden: [], exposed: [Entry("/usr/lib/python3")], steps: []),
        PlanCase(
            label: "a hidden folder with an exposed path inside it",
            hidden: [Entry("/srv/desk")], exposed: [Entry("/srv/desk/clients/python")],
            steps: [
                .cover("/srv/desk", .empty), .makeDirectory("/srv/desk/clients"),
                .makeDirectory("/srv/desk/clients/python"), .bind("/srv/desk/clients/python", writable: false),
            ]),
        PlanCase(
            label: "an unsearchable folder on the way is covered at its top (a checkout in /root)",
            hidden: [], exposed: [Entry("/root/.pyenv/versions/3.11")], unsearchable: ["/root"],
            steps: [
                .cover("/root", .empty), .makeDirectory("/root/.pyenv"), .makeDirectory("/root/.pyenv/versions"),
                .makeDirectory("/root/.pyenv/versions/3.11"), .bind("/root/.pyenv/versions/3.11", writable: false),
            ]),
        PlanCase(
            label: "a file is hidden with /dev/null and exposed on an empty file",
            hidden: [Entry("/srv/desk/desk-admin.token", isDirectory: false)],
            exposed: [Entry("/srv/other/desk.sock", isDirectory: false)], unsearchable: ["/srv/other"],
            steps: [
                .cover("/srv/other", .empty), .cover("/srv/desk/desk-admin.token", .file),
                .makeFile("/srv/other/desk.sock"), .bind("/srv/other/desk.sock", writable: false),
            ]),
        PlanCase(
            label:
                "a path inside an exposed one is not bound twice; a hidden path inside an exposure is covered after it",
            hidden: [Entry("/srv/desk"), Entry("/srv/desk/site/secret")],
            exposed: [Entry("/srv/desk/site"), Entry("/srv/desk/site/lib", writable: true)],
            steps: [
                .cover("/srv/desk", .empty), .makeDirectory("/srv/desk/site"),
                .bind("/srv/desk/site", writable: false), .cover("/srv/desk/site/secret", .empty),
            ]),
        PlanCase(
            label: "a hidden folder inside a hidden one is covered once",
            hidden: [Entry("/srv/desk"), Entry("/srv/desk/logs")], exposed: [],
            steps: [.cover("/srv/desk", .empty)]),
        PlanCase(
            label:
                "a private /tmp keeps exposed paths under it (a desk whose files are in /tmp), HOME a private one too",
            hidden: [Entry("/tmp/desk/strategies")],
            exposed: [Entry("/tmp/desk/sandbox/a/app")],
            privateFolders: ["/tmp", "/dev/shm", "/tmp/desk/sandbox/a/home"],
            steps: [
                .privateFolder("/tmp"), .privateFolder("/dev/shm"), .makeDirectory("/tmp/desk"),
                .makeDirectory("/tmp/desk/sandbox"), .makeDirectory("/tmp/desk/sandbox/a"),
                .makeDirectory("/tmp/desk/sandbox/a/app"), .bind("/tmp/desk/sandbox/a/app", writable: false),
                .makeDirectory("/tmp/desk/sandbox/a/home"), .privateFolder("/tmp/desk/sandbox/a/home"),
            ]),
        PlanCase(
            label: "HOME in a hidden folder: made in the cover, a private folder there (never the real one)",
            hidden: [Entry("/var/lib/desk")], exposed: [Entry("/var/lib/desk/sandbox/a/app")],
            privateFolders: ["/var/lib/desk/sandbox/a/home"],
            steps: [
                .cover("/var/lib/desk", .empty), .makeDirectory("/var/lib/desk/sandbox"),
                .makeDirectory("/var/lib/desk/sandbox/a"), .makeDirectory("/var/lib/desk/sandbox/a/app"),
                .bind("/var/lib/desk/sandbox/a/app", writable: false), .makeDirectory("/var/lib/desk/sandbox/a/home"),
                .privateFolder("/var/lib/desk/sandbox/a/home"),
            ]),
        PlanCase(
            label: "the root as an allow-list: /run, /var, /dev and files covered; /var/tmp private, /dev rebuilt",
            hidden: MountPlan.rootCovers([
                Entry("/usr"), Entry("/etc"), Entry("/proc"), Entry("/run"), Entry("/var"), Entry("/dev"),
                Entry("/tmp"), Entry("/.dockerenv", isDirectory: false),
            ]),
            exposed: [
                Entry("/dev/null", isDirectory: false, writable: true),
                Entry("/run/desk/desk.sock", isDirectory: false),
            ],
            privateFolders: ["/tmp", "/var/tmp"], links: [MountPlan.Link("/dev/fd", to: "/proc/self/fd")],
            steps: [
                .cover("/.dockerenv", .file), .cover("/dev", .empty), .cover("/run", .empty), .cover("/var", .empty),
                .privateFolder("/tmp"), .link("/dev/fd", target: "/proc/self/fd"), .makeFile("/dev/null"),
                .bind("/dev/null", writable: true), .makeDirectory("/var/tmp"), .privateFolder("/var/tmp"),
                .makeDirectory("/run/desk"), .makeFile("/run/desk/desk.sock"),
                .bind("/run/desk/desk.sock", writable: false),
            ]),
        PlanCase(
            label: "exposing a hidden path itself shows it again on the cover",
            hidden: [Entry("/srv/desk/clients")], exposed: [Entry("/srv/desk/clients")],
            steps: [.cover("/srv/desk/clients", .empty), .bind("/srv/desk/clients", writable: false)]),
    ]

    @Test("mount plans", arguments: planCases)
    func plans(_ planCase: PlanCase) {
        let steps = MountPlan.steps(
            hidden: planCase.hidden, exposed: planCase.exposed, privateFolders: planCase.privateFolders,
            links: planCase.links
        ) { !planCase.unsearchable.contains($0) }
        #expect(steps == planCase.steps)
    }

    @Test("ancestors and containment")
    func paths() {
        #expect(MountPlan.ancestors(of: "/a/b/c") == ["/a", "/a/b"])
        #expect(MountPlan.ancestors(of: "/a").isEmpty)
        #expect(MountPlan.contains("/a", "/a/b"))
        #expect(MountPlan.contains("/a", "/a"))
        #expect(!MountPlan.contains("/a", "/ab"))
        #expect(MountPlan.contains("/", "/anything"))
    }
}
