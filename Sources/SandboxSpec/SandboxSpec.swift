/// What the sandbox launcher (`desk-sandbox`) does before it runs a strategy.
///
/// The supervisor writes one spec, framed by `encoded()`, at the start of the
/// launcher's stdin; the rest of stdin is the strategy's (its market data). Nothing
/// of the spec travels in the launcher's arguments (any local user reads those in
/// `ps`) or in its environment (the launcher runs with an empty one, so no loader
/// or interpreter variable reaches it). The launcher applies every protection
/// and only then gives `environment` to the strategy's own `execve`.
///
/// This module has no Foundation: the launcher links only this and Glibc.
public struct SandboxSpec: Sendable, Equatable {
    /// The user the strategy runs as (the launcher must run as root to switch).
    public struct User: Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        /// Supplementary groups (the desk socket's group).
        public var groups: [UInt32]

        public init(uid: UInt32, gid: UInt32, groups: [UInt32] = []) {
            self.uid = uid
            self.gid = gid
            self.groups = groups
        }
    }

    /// One resource limit (soft = hard).
    public struct Limit: Sendable, Equatable {
        public enum Resource: String, Sendable, CaseIterable {
            case addressSpace = "as"
            case cpuSeconds = "cpu"
            case openFiles = "nofile"
            case processes = "nproc"
            case coreSize = "core"
            /// The largest file it may write (`RLIMIT_FSIZE`), bytes.
            case fileSize = "fsize"
        }

        public var resource: Resource
        public var value: UInt64

        public init(_ resource: Resource, _ value: UInt64) {
            self.resource = resource
            self.value = value
        }
    }

    /// A path of the desk's filesystem the strategy needs, even where its folders
    /// are hidden or not searchable by the strategy's user.
    public struct Exposure: Sendable, Equatable {
        public var path: String
        public var writable: Bool

        public init(_ path: String, writable: Bool = false) {
            self.path = path
            self.writable = writable
        }
    }

    /// Inside the strategy's network namespace, `127.0.0.1:port` (and `[::1]:port`)
    /// leads to the unix socket at `socket` (the desk's): how a client that speaks
    /// only TCP, such as alpaca-py, reaches the desk, and nothing else.
    public struct Forward: Sendable, Equatable {
        public var port: UInt16
        public var socket: String

        public init(port: UInt16, socket: String) {
            self.port = port
            self.socket = socket
        }
    }

    /// Program and arguments; the first is an absolute path.
    public var program: [String]
    /// `NAME=value` entries: the strategy's whole environment.
    public var environment: [String]
    public var workingDirectory: String?
    /// nil: keep the launcher's user (a desk that is not root, or `--no-sandbox`).
    public var user: User?
    /// Own mount, pid, IPC and UTS namespaces: a private `/proc` that shows only the
    /// strategy's own processes, private temporary folders, hidden and exposed paths.
    public var isolate: Bool
    /// Own network namespace (only a loopback interface, down).
    public var isolateNetwork: Bool
    public var limits: [Limit]
    /// Folders and files covered (empty) in the strategy's view: the ledger's
    /// folder, the strategies folder, the logs.
    public var hidden: [String]
    /// Paths shown at their own place even inside a hidden or unsearchable folder.
    public var exposed: [Exposure]
    /// Folders that are the strategy's own and nobody else's, fresh at each start:
    /// HOME, `/tmp`, `/var/tmp`, `/dev/shm` — each a folder of one tmpfs.
    public var privateFolders: [String]
    /// Size of that tmpfs, bytes: the strategy's disk, all private folders together.
    public var privateFolderBytes: UInt64
    /// A FIFO (outside the sandbox) the launcher writes one byte to each time the
    /// strategy starts a read of its stdin: how a backtest knows it has finished
    /// with a tick and waits for the next. nil: reads are not watched.
    public var readiness: String?
    /// With `readiness`: the strategy's stdin is a pipe of packets (one line
    /// each, written ahead by the desk) and only a read of it shorter than this
    /// many bytes, or a vectored one — either would cut a packet — is reported,
    /// the strategy held there (never let run). nil: every read is reported and
    /// then runs (strict lockstep). 1 … `largestPacket`.
    public var packetThreshold: Int?
    /// The loopback forwarder to start (needs `isolate` and `isolateNetwork`); nil: none.
    public var forward: Forward?

    public init(
        program: [String], environment: [String], workingDirectory: String? = nil, user: User? = nil,
        isolate: Bool = false, isolateNetwork: Bool = false, limits: [Limit] = [], hidden: [String] = [],
        exposed: [Exposure] = [], privateFolders: [String] = [], privateFolderBytes: UInt64 = 64 << 20,
        readiness: String? = nil, packetThreshold: Int? = nil, forward: Forward? = nil
    ) {
        self.readiness = readiness
        self.packetThreshold = packetThreshold
        self.forward = forward
        self.program = program
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.user = user
        self.isolate = isolate
        self.isolateNetwork = isolateNetwork
        self.limits = limits
        self.hidden = hidden
        self.exposed = exposed
        self.privateFolders = privateFolders
        self.privateFolderBytes = privateFolderBytes
    }

    /// Why a spec could not be read.
    public struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// The frame's first bytes: the format's name and version.
    static let magic: [UInt8] = Array("desk-sandbox/1".utf8) + [0]
    /// Largest spec accepted, bytes (environments are small; this bounds a bad frame).
    public static let maximumSize = 1 << 20
    /// The longest packet a pipe writes whole (PIPE_BUF), bytes: the largest packet threshold.
    public static let largestPacket = 4096

    /// The frame written to the launcher's stdin: a 4-byte big-endian length, then
    /// the magic and `key NUL value NUL` pairs (keys repeat for lists).
    public func encoded() -> [UInt8] {
        var pairs: [(String, String)] = []
        for argument in program { pairs.append(("arg", argument)) }
        for entry in environment { pairs.append(("env", entry)) }
        if let workingDirectory { pairs.append(("cwd", workingDirectory)) }
        if let user {
            pairs.append(("uid", String(user.uid)))
            pairs.append(("gid", String(user.gid)))
            for group in user.groups { pairs.append(("group", String(group))) }
        }
        if isolate { pairs.append(("isolate", "1")) }
        if isolateNetwork { pairs.append(("net", "1")) }
        for limit in limits { pairs.append(("limit", "\(limit.resource.rawValue)=\(limit.value)")) }
        for path in hidden { pairs.append(("hide", path)) }
        for exposure in exposed { pairs.append((exposure.writable ? "expose-rw" : "expose", exposure.path)) }
        for folder in privateFolders { pairs.append(("private", folder)) }
        pairs.append(("private-bytes", String(privateFolderBytes)))
        if let readiness { pairs.append(("readiness", readiness)) }
        if let packetThreshold { pairs.append(("packets", String(packetThreshold))) }
        if let forward { pairs.append(("forward", "\(forward.port):\(forward.socket)")) }
        var payload = Self.magic
        for (key, value) in pairs {
            payload += Array(key.utf8) + [0] + Array(value.utf8) + [0]
        }
        let count = UInt32(payload.count)
        return [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)]
            + payload
    }

    /// The payload's length from a frame's first four bytes.
    public static func payloadLength(header: [UInt8]) throws(Problem) -> Int {
        guard header.count == 4 else { throw Problem("the spec frame is shorter than its 4-byte length") }
        let length = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
        guard length > 0 && length <= maximumSize else {
            throw Problem("the spec frame claims \(length) bytes; at most \(maximumSize)")
        }
        return length
    }

    /// Reads a payload (the frame without its length).
    public static func decode(payload: [UInt8]) throws(Problem) -> SandboxSpec {
        guard payload.starts(with: magic) else { throw Problem("not a desk-sandbox/1 spec") }
        var fields: [String] = []
        var start = magic.count
        for index in magic.count..<payload.count where payload[index] == 0 {
            guard let field = String(validating: payload[start..<index], as: UTF8.self) else {
                throw Problem("a spec field is not UTF-8")
            }
            fields.append(field)
            start = index + 1
        }
        guard start == payload.count, fields.count % 2 == 0 else {
            throw Problem("the spec ends in the middle of a field")
        }
        var spec = SandboxSpec(program: [], environment: [])
        var uid: UInt32?
        var gid: UInt32?
        var groups: [UInt32] = []
        func number<T: FixedWidthInteger>(_ text: String, _ key: String) throws(Problem) -> T {
            guard let value = T(text) else { throw Problem("spec \(key) \"\(text)\" is not a number") }
            return value
        }
        for index in stride(from: 0, to: fields.count, by: 2) {
            let (key, value) = (fields[index], fields[index + 1])
            switch key {
            case "arg": spec.program.append(value)
            case "env":
                guard value.contains("="), value.first != "=" else {
                    throw Problem("spec env \"\(value)\" is not NAME=value")
                }
                spec.environment.append(value)
            case "cwd": spec.workingDirectory = value
            case "uid": uid = try number(value, key)
            case "gid": gid = try number(value, key)
            case "group": groups.append(try number(value, key))
            case "isolate": spec.isolate = value == "1"
            case "net": spec.isolateNetwork = value == "1"
            case "limit":
                let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let resource = Limit.Resource(rawValue: parts[0]) else {
                    throw Problem("spec limit \"\(value)\" is not RESOURCE=number")
                }
                spec.limits.append(Limit(resource, try number(parts[1], key)))
            case "hide": spec.hidden.append(try absolute(value, key))
            case "expose": spec.exposed.append(Exposure(try absolute(value, key)))
            case "expose-rw": spec.exposed.append(Exposure(try absolute(value, key), writable: true))
            case "private": spec.privateFolders.append(try absolute(value, key))
            case "private-bytes": spec.privateFolderBytes = try number(value, key)
            case "readiness": spec.readiness = try absolute(value, key)
            case "packets":
                guard let threshold = Int(value), (1...largestPacket).contains(threshold) else {
                    throw Problem("spec packets \"\(value)\" is not a read size of 1 … \(largestPacket) bytes")
                }
                spec.packetThreshold = threshold
            case "forward":
                let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
                guard parts.count == 2, let port = UInt16(parts[0]), port > 0 else {
                    throw Problem("spec forward \"\(value)\" is not PORT:/path/of/socket")
                }
                spec.forward = Forward(port: port, socket: try absolute(parts[1], key))
            default: throw Problem("unknown spec key \"\(key)\"")
            }
        }
        switch (uid, gid) {
        case (let uid?, let gid?): spec.user = User(uid: uid, gid: gid, groups: groups)
        case (nil, nil): break
        default: throw Problem("the spec names a uid without a gid or a gid without a uid")
        }
        if spec.packetThreshold != nil && spec.readiness == nil {
            throw Problem("the spec feeds stdin in packets without a readiness FIFO to report short reads to")
        }
        guard let first = spec.program.first, first.hasPrefix("/") else {
            throw Problem("the spec's program must start with an absolute path")
        }
        return spec
    }

    private static func absolute(_ path: String, _ key: String) throws(Problem) -> String {
        guard path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
            throw Problem("spec \(key) \"\(path)\" must be an absolute path without ..")
        }
        return path
    }
}
