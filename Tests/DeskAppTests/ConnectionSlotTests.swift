import DeskAppTestSupport
import DeskCore
import DeskIdentity
import DeskLedger
import DeskTestSupport
import Foundation
import Testing

@testable import DeskHTTP

@Suite("Connection slots (state machine)")
struct ConnectionSlotTableTests {
    /// One thing that happens to a listener.
    enum Event {
        case open(Int, from: String)
        case busy(Int)
        case ended(Int)
        case member(Int, String)
    }

    /// 6 slots, 2 of them for members, 3 unauthenticated per address, 2 per member.
    static let limits = ConnectionSlots.Limits(maximum: 6, reserved: 2, perAddress: 3, perMember: 2)

    @Test(
        "who is closed to make room, after each history (the actions of its last event)",
        arguments: [
            ("strangers within their share", [.open(1, from: "a"), .open(2, from: "b"), .open(3, from: "c")], []),
            (
                "a fifth stranger closes the oldest idle one",
                [
                    .open(1, from: "a"), .open(2, from: "b"), .open(3, from: "c"), .open(4, from: "d"),
                    .open(5, from: "e"),
                ],
                [.close(id: 1, .unauthenticatedShare)]
            ),
            (
                "a stranger with a request in progress goes once answered, before connections that sent nothing yet (a member's first request may be on its way)",
                [
                    .open(1, from: "a"), .busy(1), .open(2, from: "b"), .open(3, from: "c"), .open(4, from: "d"),
                    .open(5, from: "e"),
                ],
                [.closeAfterResponse(id: 1, .unauthenticatedShare)]
            ),
            (
                "with nobody else to close, the oldest connection that sent nothing goes",
                [
                    .open(1, from: "a"), .busy(1), .open(2, from: "b"), .open(3, from: "c"), .open(4, from: "d"),
                    .open(5, from: "e"), .open(6, from: "f"),
                ],
                [.close(id: 2, .unauthenticatedShare)]
            ),
            (
                "every stranger busy: the oldest is closed once its response was sent",
                [
                    .open(1, from: "a"), .busy(1), .open(2, from: "b"), .busy(2), .open(3, from: "c"), .busy(3),
                    .open(4, from: "d"), .busy(4), .open(5, from: "e"),
                ],
                [.closeAfterResponse(id: 1, .unauthenticatedShare)]
            ),
            (
                "a stranger that asked something goes before a newer one that has not sent a byte yet",
                [
                    .open(1, from: "a"), .open(2, from: "b"), .busy(2), .ended(2), .open(3, from: "c"),
                    .open(4, from: "d"), .open(5, from: "e"),
                ],
                [.close(id: 2, .unauthenticatedShare)]
            ),
            (
                "its response sent, the stranger marked for closing is closed",
                [
                    .open(1, from: "a"), .busy(1), .open(2, from: "b"), .busy(2), .open(3, from: "c"), .busy(3),
                    .open(4, from: "d"), .busy(4), .open(5, from: "e"), .ended(1),
                ],
                [.close(id: 1, .unauthenticatedShare)]
            ),
            (
                "a stranger marked for closing that authenticates is kept",
                [
                    .open(1, from: "a"), .busy(1), .open(2, from: "b"), .busy(2), .open(3, from: "c"), .busy(3),
                    .open(4, from: "d"), .busy(4), .open(5, from: "e"), .member(1, "alice"), .ended(1),
                ],
                []
            ),
            (
                "a response sent on a connection nobody wants closed changes nothing",
                [.open(1, from: "a"), .busy(1), .ended(1), .open(2, from: "b")],
                []
            ),
            (
                "a full listener closes the oldest idle stranger, never a member's connection",
                [
                    .open(1, from: "a"), .member(1, "alice"), .open(2, from: "a"), .member(2, "bob"),
                    .open(3, from: "c"), .open(4, from: "d"), .open(5, from: "e"), .open(6, from: "f"),
                ],
                [.close(id: 3, .listenerFull)]
            ),
            (
                "an address past its cap loses its own oldest idle connection",
                [
                    .open(1, from: "x"), .open(2, from: "a"), .open(3, from: "a"), .open(4, from: "a"),
                    .open(5, from: "a"),
                ],
                [.close(id: 2, .addressCap)]
            ),
            (
                "an address whose connections are all busy cannot open another",
                [
                    .open(1, from: "a"), .busy(1), .open(2, from: "a"), .busy(2), .open(3, from: "a"), .busy(3),
                    .open(4, from: "a"),
                ],
                [.close(id: 4, .addressCap)]
            ),
            (
                "a member's connections do not count against their address",
                [
                    .open(1, from: "a"), .member(1, "alice"), .open(2, from: "a"), .open(3, from: "a"),
                    .open(4, from: "a"),
                ],
                []
            ),
            (
                "a member past their cap loses their own oldest idle connection",
                [
                    .open(1, from: "a"), .member(1, "alice"), .open(2, from: "b"), .member(2, "bob"),
                    .open(3, from: "a"), .member(3, "alice"), .open(4, from: "a"), .member(4, "alice"),
                ],
                [.close(id: 1, .memberCap)]
            ),
            (
                "a member whose other connections are busy keeps them all",
                [
                    .open(1, from: "a"), .member(1, "alice"), .busy(1), .open(2, from: "a"), .member(2, "alice"),
                    .busy(2), .open(3, from: "a"), .member(3, "alice"),
                ],
                []
            ),
        ] as [(String, [Event], [ConnectionSlots.Action])])
    func history(_ name: String, events: [Event], closes expected: [ConnectionSlots.Action]) {
        var slots = ConnectionSlots(limits: Self.limits)
        var last: [ConnectionSlots.Action] = []
        for event in events {
            switch event {
            case .open(let id, let address): last = slots.opened(id: id, address: address)
            case .busy(let id):
                slots.requestStarted(id: id)
                last = []
            case .ended(let id): last = slots.requestEnded(id: id)
            case .member(let id, let member): last = slots.authenticated(id: id, member: member)
            }
        }
        #expect(last == expected, "\(name)")
    }

    @Test(
        "slot settings: flags, environment, defaults and refusals",
        arguments: [
            ([:], [], nil),
            (
                ["DESK_RESERVED_CONNECTIONS": "8", "DESK_STREAM_AUTH_TIMEOUT": "2.5"],
                ["--connections-per-address", "5", "--connections-per-member", "7"], nil
            ),
            ([:], ["--connections-per-address", "0"], "--connections-per-address 0 is out of range: use 1-100000"),
            (["DESK_CONNECTIONS_PER_MEMBER": "many"], [], "DESK_CONNECTIONS_PER_MEMBER=many"),
            ([:], ["--stream-auth-timeout", "0"], "--stream-auth-timeout 0 must be a number of seconds above 0"),
        ] as [([String: String], [String], String?)])
    func settings(environment: [String: String], arguments: [String], problem: String?) {
        switch serveConfiguration(arguments, environment) {
        case .success(let configuration):
            #expect(problem == nil, "accepted what should be refused")
            let connections = configuration.connections
            let given = !arguments.isEmpty
            #expect(connections.reservedConnections == (given ? 8 : 32))
            #expect(connections.unauthenticatedPerAddress == (given ? 5 : 64))
            #expect(connections.connectionsPerMember == (given ? 7 : 64))
            #expect(connections.streamAuthenticationTimeout == (given ? .milliseconds(2_500) : .seconds(10)))
        case .failure(let failure):
            #expect(problem.map { failure.message.contains($0) } == true, "\(failure.message)")
        }
    }

    @Test("a closed connection is forgotten; the reserve is at most half the listener")
    func bookkeeping() {
        var slots = ConnectionSlots(limits: .init(maximum: 4, reserved: 100, perAddress: 10, perMember: 10))
        #expect(slots.limits.unauthenticated == 2)
        _ = slots.opened(id: 1, address: "a")
        slots.closed(id: 1)
        #expect(slots.connections.isEmpty)
        #expect(slots.authenticated(id: 1, member: "alice") == [])
    }
}

/// An outsider with no token tries to take the TCP listener: a separate process
/// keeps opening unauthenticated WebSockets and keep-alive connections that ask
/// `/healthz` every 300 ms (so no idle timeout ever fires), more than the listener holds.
@Suite("Connection slots against a real desk", .serialized)
struct ConnectionSlotAttackTests {
    /// The attacker: `count` threads holding unauthenticated WebSockets and `count`
    /// holding keep-alive connections, each reconnecting at once when closed, until
    /// the stop file exists (at most a minute).
    static let attacker = """
        import os, socket, sys, threading, time
        port, count, stop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
        end = time.time() + 60
        def going():
            return time.time() < end and not os.path.exists(stop)
        upgrade = (b"GET /v2/iex HTTP/1.1\\r\\nHost: desk\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n"
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n")
        opened = []
        def hold(first, again):
            while going():
                try:
                    s = socket.create_connection(("127.0.0.1", port))
                    opened.append(1)
                    s.settimeout(0.3)
                    s.sendall(first)
                    while going():
                        try:
                            if not s.recv(4096):
                                break
                        except socket.timeout:
                            pass
                        if again:
                            s.sendall(again)
                    s.close()
                except OSError:
                    time.sleep(0.02)
        health = b"GET /healthz HTTP/1.1\\r\\nHost: desk\\r\\n\\r\\n"
        threads = [threading.Thread(target=hold, args=(upgrade, None)) for _ in range(count)]
        threads += [threading.Thread(target=hold, args=(health, health)) for _ in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print("connections opened:", len(opened))
        """

    @Test(
        "a flood of unauthenticated streams and keep-alive connections leaves a member's orders and /healthz answering"
    )
    func flood() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let token = try await Ledger(path: database).issueToken(member: "alice").secret
        let desk = try DeskServerProcess(
            database: database, folder: folder,
            arguments: [
                "--max-connections", "16", "--reserved-connections", "4", "--stream-auth-timeout", "30",
                "--idle-timeout", "30",
            ])
        defer { desk.stop() }
        let admin = try #require(AdminTokenFile.read(path: folder.path("desk-admin.token")))
        let setup = try RawConnection.tcp(port: desk.port)
        let price = await setup.request(
            "POST", "/admin/prices", headers: ["Authorization": "Bearer \(admin)", "Content-Type": "application/json"],
            body: #"{"symbol":"AAPL","price":"100"}"#)
        #expect(price?.status == 200)

        let script = folder.path("attacker.py")
        let stop = folder.path("stop")
        try Self.attacker.write(toFile: script, atomically: true, encoding: .utf8)
        async let attack = runCommand("/usr/bin/python3", [script, "\(desk.port)", "16", stop], timeout: .seconds(90))
        try await Task.sleep(for: .seconds(2))
        // The member, on fresh connections while the flood goes on (which lasts
        // until they are done: without slots kept for members they wait forever).
        for attempt in 0..<5 {
            let client = try RawConnection.tcp(port: desk.port)
            let order = await client.request(
                "POST", "/order", headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"],
                body: #"{"symbol":"AAPL","qty":"1","side":"buy"}"#, timeout: .seconds(20))
            #expect(
                order?.status == 201, "attempt \(attempt): the order got \(order.map { "\($0.status)" } ?? "no answer")"
            )
            let health = await client.request("GET", "/healthz", timeout: .seconds(20))
            #expect(health?.status == 200, "attempt \(attempt): /healthz got no answer")
            if order == nil || health == nil { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        _ = FileManager.default.createFile(atPath: stop, contents: nil)
        let attacked = try await attack
        #expect(attacked.output.contains("connections opened:"), "\(attacked.output)")
    }

    @Test("a stream that does not authenticate in time is told auth timeout and closed; an authenticated one stays")
    func authenticationDeadline() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let token = try await Ledger(path: database).issueToken(member: "alice").secret
        let desk = try DeskServerProcess(
            database: database, folder: folder, arguments: ["--stream-auth-timeout", "1"])
        defer { desk.stop() }
        let started = ContinuousClock.now
        let silent = try #require(try await WebSocketPeer.open(port: desk.port, path: "/v2/iex"))
        let trading = try #require(try await WebSocketPeer.open(port: desk.port, path: "/stream"))
        let member = try #require(try await WebSocketPeer.open(port: desk.port, path: "/v2/iex"))
        member.send(text: #"{"action":"auth","key":"alice","secret":"\#(token)"}"#)
        let data = await silent.receive(timeout: .seconds(8))
        #expect(data.closed, "the unauthenticated data stream was not closed")
        #expect(data.texts.contains { $0.contains(#""code":404"#) && $0.contains("auth timeout") }, "\(data.texts)")
        #expect(ContinuousClock.now - started >= .milliseconds(800))
        let trade = await trading.receive(timeout: .seconds(8))
        #expect(trade.closed, "the unauthenticated trade_updates stream was not closed")
        #expect(trade.texts.contains { $0.contains("auth timeout") }, "\(trade.texts)")
        let kept = await member.receive(timeout: .seconds(2))
        #expect(!kept.closed, "the authenticated stream was closed")
        #expect(kept.texts.contains { $0.contains("authenticated") }, "\(kept.texts)")
    }
}
