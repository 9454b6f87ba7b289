import DeskApp
import DeskAppTestSupport
import DeskCore
import DeskHTTP
import DeskIdentity
import DeskLedger
import DeskTestSupport
import Foundation
import NIOCore
import Testing

@testable import DeskHTTP

/// Connections that never finish, or never end, against the real desk: the
/// timeouts are set low here (the defaults are never waited on).
@Suite("Connection timeouts and limits", .serialized)
struct ConnectionLimitTests {
    /// Raises this process's descriptor limit so the test can hold a thousand connections.
    static func raiseDescriptorLimit() {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// Sends `piece(n)` every 100 ms until the desk closes the connection (at most
    /// 5 s); returns how long the desk kept it open.
    static func trickle(_ connection: RawConnection, piece: (Int) -> String) async -> Duration {
        let started = ContinuousClock.now
        var count = 0
        while ContinuousClock.now - started < .seconds(20) {
            count += 1
            guard connection.send(piece(count)) else { break }
            if await connection.receive(timeout: .milliseconds(100)) == .closed { break }
        }
        return ContinuousClock.now - started
    }

    @Test("1,100 idle connections on the unix socket cannot stop /healthz and an order from answering")
    func idleFlood() async throws {
        Self.raiseDescriptorLimit()
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let token = try await Ledger(path: database).issueToken(member: "alice").secret
        let socket = folder.path("desk.sock")
        let desk = try DeskServerProcess(
            database: database, folder: folder,
            arguments: [
                "--unix-socket", socket, "--max-connections", "64", "--idle-timeout", "0.5", "--header-timeout", "5",
                "--body-timeout", "5",
            ])
        defer { desk.stop() }
        let admin = try #require(AdminTokenFile.read(path: folder.path("desk-admin.token")))
        let baseline = desk.openDescriptors
        // The attacker: as many connections as the socket takes, holding each open and silent.
        var held: [RawConnection] = []
        var refused = 0
        for _ in 0..<1_100 {
            if let connection = try? RawConnection.unix(path: socket, blocking: false) {
                held.append(connection)
            } else {
                refused += 1
            }
        }
        #expect(held.count > 64, "the test did not get past the cap (\(held.count) connections)")
        try await Task.sleep(for: .milliseconds(200))
        let during = desk.openDescriptors
        #expect(during <= baseline + 64 + 8, "the desk holds \(during) descriptors (baseline \(baseline), cap 64)")

        // TCP is another listener with its own cap: it answers at once.
        let tcpStarted = ContinuousClock.now
        #expect(try await RawConnection.tcp(port: desk.port).request("GET", "/healthz")?.status == 200)
        #expect(ContinuousClock.now - tcpStarted < .seconds(2))

        // A legitimate client on the flooded socket waits its turn: the idle ones are closed after 0.5 s.
        // Each request on a connection of its own: with a 0.5 s idle timeout, a request slower than
        // that (a loaded machine) ends its connection after its answer.
        let started = ContinuousClock.now
        let price = try await RawConnection.unix(path: socket, waiting: .seconds(20)).request(
            "POST", "/admin/prices",
            headers: ["Authorization": "Bearer \(admin)", "Content-Type": "application/json"],
            body: #"{"symbol":"AAPL","price":"100"}"#, timeout: .seconds(20))
        #expect(price?.status == 200)
        let health = try await RawConnection.unix(path: socket, waiting: .seconds(20)).request(
            "GET", "/healthz", timeout: .seconds(20))
        #expect(health?.status == 200, "/healthz did not answer on the flooded socket")
        let order = try await RawConnection.unix(path: socket, waiting: .seconds(20)).request(
            "POST", "/order", headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"],
            body: #"{"symbol":"AAPL","qty":"1","side":"buy"}"#, timeout: .seconds(20))
        #expect(order?.status == 201, "\(order?.body ?? "no answer")")
        #expect(ContinuousClock.now - started < .seconds(40))
        // The held connections were closed by the desk, not kept.
        var closed = 0
        for connection in held.prefix(64) where await connection.receive(timeout: .milliseconds(10)) == .closed {
            closed += 1
        }
        #expect(closed == 64, "only \(closed) of the first 64 idle connections were closed")
        _ = refused
    }

    @Test(
        "a request whose head or body never completes is closed within its timeout, an idle one is left to the idle timeout"
    )
    func lateRequests() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let token = try await Ledger(path: database).issueToken(member: "alice").secret
        let desk = try DeskServerProcess(
            database: database, folder: folder,
            arguments: ["--idle-timeout", "30", "--header-timeout", "0.5", "--body-timeout", "0.5"])
        defer { desk.stop() }
        let head =
            "POST /order HTTP/1.1\r\nHost: desk\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\n"

        // An unterminated chunked body.
        let chunked = try RawConnection.tcp(port: desk.port)
        let chunkedStarted = ContinuousClock.now
        chunked.send(head + "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"sym\r\n")
        // Closed by the body timeout (0.5 s), long before the idle timeout (30 s); the bound is
        // generous because a loaded test machine can be slow to schedule the close.
        let chunkedEnd = await chunked.readUntilClosed(timeout: .seconds(20))
        let chunkedTook = ContinuousClock.now - chunkedStarted
        #expect(chunkedEnd.closed, "an unterminated chunked body was held open")
        #expect(chunkedTook >= .milliseconds(400) && chunkedTook < .seconds(20), "closed after \(chunkedTook)")

        // A Content-Length longer than the body sent.
        let short = try RawConnection.tcp(port: desk.port)
        let shortStarted = ContinuousClock.now
        short.send(head + "Content-Length: 100\r\n\r\n{\"symbol\":\"AAPL\"")
        #expect(await short.readUntilClosed(timeout: .seconds(20)).closed, "a short body was held open")
        #expect(ContinuousClock.now - shortStarted < .seconds(15))

        // A body trickled a byte at a time: each byte is "activity", the body deadline still holds.
        let trickledBody = try RawConnection.tcp(port: desk.port)
        trickledBody.send(head + "Content-Length: 100\r\n\r\n")
        let bodyHeld = await Self.trickle(trickledBody) { _ in "x" }
        #expect(bodyHeld < .seconds(15), "a trickled body was held open for \(bodyHeld)")

        // Headers trickled a line at a time.
        let trickledHead = try RawConnection.tcp(port: desk.port)
        trickledHead.send("GET /healthz HTTP/1.1\r\n")
        let headHeld = await Self.trickle(trickledHead) { "X-Slow-\($0): x\r\n" }
        #expect(headHeld < .seconds(15), "trickled headers were held open for \(headHeld)")

        // A silent connection is idle, not late: the 30 s idle timeout governs, and it still serves a request.
        let quiet = try RawConnection.tcp(port: desk.port)
        #expect(await quiet.receive(timeout: .milliseconds(1_500)) == .timedOut, "an idle connection was closed early")
        #expect(await quiet.request("GET", "/healthz")?.status == 200)
        // No order was booked from any of the broken requests.
        #expect(try Ledger(readingExisting: database).count("orders") == 0)
    }

    @Test("the idle timeout closes a connection that says nothing")
    func idleTimeout() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let desk = try DeskServerProcess(
            database: folder.path("desk.db"), folder: folder, arguments: ["--idle-timeout", "0.3"])
        defer { desk.stop() }
        let connection = try RawConnection.tcp(port: desk.port)
        #expect(await connection.request("GET", "/healthz")?.status == 200)
        let started = ContinuousClock.now
        #expect(await connection.readUntilClosed(timeout: .seconds(5)).closed)
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test("the unix socket is 0660 in its group: a user outside the group cannot connect, one inside can")
    func socketGroup() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let socket = folder.path("desk.sock")
        let desk = try DeskServerProcess(
            database: folder.path("desk.db"), folder: folder,
            arguments: ["--unix-socket", socket, "--socket-group", "61998"])
        defer { desk.stop() }
        var status = stat()
        #expect(stat(socket, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o660)
        #expect(status.st_gid == 61_998)
        let probe = [
            "/usr/bin/python3", "-c",
            """
            import socket, sys
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(sys.argv[1])
            except OSError as error:
                print("REFUSED", error); sys.exit(3)
            s.sendall(b"GET /healthz HTTP/1.1\\r\\nHost: desk\\r\\nConnection: close\\r\\n\\r\\n")
            print(s.recv(200).split(b"\\r\\n")[0].decode())
            """,
            socket,
        ]
        let outsider = try await runAsUnprivileged(probe)
        #expect(outsider.status == 3, "\(outsider.output)")
        #expect(outsider.output.contains("Permission denied"), "\(outsider.output)")
        let member = try await runAsUnprivileged(groups: [61_998], probe)
        #expect(member.status == 0, "\(member.output)")
        #expect(member.output.contains("HTTP/1.1 200"), "\(member.output)")
    }

    @Test(
        "connection settings: flags, environment, defaults and refusals",
        arguments: [
            (["DESK_IDLE_TIMEOUT": "0.25"], [], nil),
            ([:], ["--idle-timeout", "0"], "--idle-timeout 0 must be a number of seconds above 0"),
            (["DESK_BODY_TIMEOUT": "1e3"], [], "DESK_BODY_TIMEOUT=1e3 must be a number of seconds"),
            ([:], ["--max-connections", "0"], "--max-connections 0 is out of range: use 1-100000"),
            (["DESK_MAX_CONNECTIONS": "lots"], [], "DESK_MAX_CONNECTIONS=lots"),
            ([:], ["--socket-group", "no-such-group-here"], "is neither a gid nor a group"),
        ] as [([String: String], [String], String?)])
    func settings(environment: [String: String], arguments: [String], problem: String?) {
        switch serveConfiguration(arguments, environment) {
        case .success(let configuration):
            #expect(problem == nil, "accepted what should be refused")
            #expect(configuration.connections.idleTimeout == .milliseconds(250))
            #expect(configuration.connections.requestHeaderTimeout == .seconds(10))
            #expect(configuration.connections.requestBodyTimeout == .seconds(30))
            #expect(configuration.connections.maximumConnections == 256)
            #expect(configuration.unixSocketGroup == (getuid() == 0 ? DeskConfiguration.defaultSocketGroup : getgid()))
        case .failure(let failure):
            #expect(problem.map { failure.message.contains($0) } == true, "\(failure.message)")
        }
    }
}

@Suite("Request deadlines (state machine)")
struct RequestDeadlineTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test("the header deadline starts at a request's first byte; the body deadline at its head; the end clears both")
    func phases() {
        var deadlines = RequestDeadlines(headerTimeout: .seconds(2), bodyTimeout: .seconds(5))
        let t0 = Self.start
        #expect(deadlines.timerFired(now: t0) == .nothing, "a silent connection is the idle timeout's")
        #expect(deadlines.bytesArrived(now: t0) == .schedule(t0 + .seconds(2)))
        #expect(deadlines.bytesArrived(now: t0 + .seconds(1)) == .nothing, "more bytes do not extend the deadline")
        #expect(deadlines.timerFired(now: t0 + .seconds(1)) == .schedule(t0 + .seconds(2)))
        #expect(deadlines.headReceived(now: t0 + .seconds(1)) == .schedule(t0 + .seconds(6)))
        #expect(deadlines.bytesArrived(now: t0 + .seconds(3)) == .nothing, "body bytes do not extend the deadline")
        #expect(deadlines.endReceived() == .cancelTimer)
        #expect(deadlines.timerFired(now: t0 + .seconds(10)) == .nothing)
    }

    @Test(
        "a late head or body closes the connection",
        arguments: [
            (false, 3, RequestDeadlines.Action.close(missed: "request head", after: .seconds(2))),
            (true, 7, RequestDeadlines.Action.close(missed: "request body", after: .seconds(5))),
        ])
    func late(headCame: Bool, after seconds: Int64, action: RequestDeadlines.Action) {
        var deadlines = RequestDeadlines(headerTimeout: .seconds(2), bodyTimeout: .seconds(5))
        _ = deadlines.bytesArrived(now: Self.start)
        if headCame { _ = deadlines.headReceived(now: Self.start + .seconds(1)) }
        #expect(deadlines.timerFired(now: Self.start + .seconds(seconds)) == action)
    }
}
