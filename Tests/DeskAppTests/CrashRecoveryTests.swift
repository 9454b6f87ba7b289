import AsyncHTTPClient
import DeskCore
import DeskLedger
import DeskProto
import DeskTestSupport
import Foundation
import NIOCore
import Synchronization
import Testing

/// The real `desk` binary on a loopback port, killed with SIGKILL in the middle
/// of a burst of concurrent orders and started again on the same ledger.
@Suite("Durability under kill -9")
struct CrashRecoveryTests {
    final class Tally: Sendable {
        let acknowledged = Mutex<[String]>([])
        let attempts = Mutex(0)
    }

    static func post(_ client: HTTPClient, port: Int, path: String, token: String, body: [UInt8], contentType: String)
        async throws -> (Int, [UInt8])
    {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.body = .bytes(ByteBuffer(bytes: body))
        // Short: after a kill the client would otherwise retry connecting until the deadline.
        let response = try await client.execute(request, timeout: .seconds(2))
        return (Int(response.status.code), Array(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    @Test("every acknowledged order survives SIGKILL, none is duplicated, and the desk restarts on the same ledger")
    func killNine() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let setup = try Ledger(path: database)
        let admin = try await setup.issueToken(member: "root", isAdmin: true).secret
        var members: [String] = []
        for index in 0..<4 {
            members.append(try await setup.issueToken(member: "member\(index)", strategy: "burst").secret)
        }
        let client = HTTPClient.shared

        let first = try DeskServerProcess(database: database, folder: folder)
        let price = Array(#"{"symbol":"AAPL","price":"100.25"}"#.utf8)
        #expect(
            try await Self.post(
                client, port: first.port, path: "/admin/prices", token: admin, body: price,
                contentType: "application/json"
            ).0 == 200)

        var order = Orders_OrderRequest()
        order.symbol = "AAPL"
        order.qty = "1"
        order.side = "buy"
        let body: [UInt8] = try order.serializedBytes()
        let tally = Tally()
        // 16 concurrent senders; the kill comes once 150 orders are acknowledged.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<16 {
                let token = members[index % members.count]
                group.addTask {
                    for _ in 0..<200 {
                        tally.attempts.withLock { $0 += 1 }
                        guard
                            let (status, reply) = try? await Self.post(
                                client, port: first.port, path: "/order", token: token, body: body,
                                contentType: "application/x-protobuf")
                        else { return }
                        if status == 201, let response = try? Orders_OrderResponse(serializedBytes: reply) {
                            tally.acknowledged.withLock { $0.append(response.orderID) }
                        }
                    }
                }
            }
            group.addTask {
                while tally.acknowledged.withLock({ $0.count }) < 150 { try await Task.sleep(for: .milliseconds(2)) }
                first.kill9()
            }
            try await group.waitForAll()
        }
        let acked = tally.acknowledged.withLock { $0 }
        #expect(acked.count >= 150)
        #expect(Set(acked).count == acked.count)

        let second = try DeskServerProcess(database: database, folder: folder)
        defer { second.stop() }
        let reopened = try Ledger(path: database)
        let stored = try await reopened.orders(OrderQuery(member: nil, limit: OrderQuery.maximumLimit))
        let storedIds = stored.map(\.orderId)
        #expect(Set(storedIds).count == storedIds.count, "an order id appears twice")
        let missing = Set(acked).subtracting(storedIds)
        #expect(missing.isEmpty, "acknowledged orders lost: \(missing.count)")
        #expect(stored.count <= tally.attempts.withLock { $0 }, "more orders than requests: duplicates")
        for id in acked {
            let order = try #require(stored.first { $0.orderId == id })
            #expect(order.status == .filled, "acknowledged order \(id) is \(order.status.rawValue)")
        }
        // Fills are booked once: positions equal the filled quantity.
        let filled = stored.filter { $0.status == .filled }.reduce(Decimal(0)) { $0 + $1.filledQty }
        let held = try await reopened.positions(member: nil).reduce(Decimal(0)) { $0 + $1.qty }
        #expect(filled == held)
        #expect(try reopened.count("fills") == stored.filter { $0.status == .filled }.count)
        // Nothing is left pending after recovery.
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await reopened.orders(OrderQuery(member: nil, status: .exactly(.pendingNew))).isEmpty)
        // And the restarted desk takes orders again.
        #expect(
            try await Self.post(
                client, port: second.port, path: "/admin/prices", token: admin, body: price,
                contentType: "application/json"
            ).0 == 200)
        #expect(
            try await Self.post(
                client, port: second.port, path: "/order", token: members[0], body: body,
                contentType: "application/x-protobuf"
            ).0 == 201)
    }

    @Test("SIGTERM finishes in-flight orders, then exits cleanly")
    func gracefulShutdown() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let setup = try Ledger(path: database)
        let admin = try await setup.issueToken(member: "root", isAdmin: true).secret
        let token = try await setup.issueToken(member: "alice").secret
        let client = HTTPClient.shared
        let desk = try DeskServerProcess(database: database, folder: folder)
        let price = Array(#"{"symbol":"AAPL","price":"50"}"#.utf8)
        _ = try await Self.post(
            client, port: desk.port, path: "/admin/prices", token: admin, body: price, contentType: "application/json")
        var order = Orders_OrderRequest()
        order.symbol = "AAPL"
        order.qty = "1"
        order.side = "buy"
        let body: [UInt8] = try order.serializedBytes()
        let tally = Tally()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<100 {
                        guard
                            let (status, reply) = try? await Self.post(
                                client, port: desk.port, path: "/order", token: token, body: body,
                                contentType: "application/x-protobuf")
                        else { return }
                        if status == 201, let response = try? Orders_OrderResponse(serializedBytes: reply) {
                            tally.acknowledged.withLock { $0.append(response.orderID) }
                        }
                    }
                }
            }
            group.addTask {
                while tally.acknowledged.withLock({ $0.count }) < 50 { try await Task.sleep(for: .milliseconds(2)) }
                desk.process.terminate()
            }
            try await group.waitForAll()
        }
        desk.process.waitUntilExit()
        #expect(desk.process.terminationStatus == 0, "\(desk.log)")
        let acked = tally.acknowledged.withLock { $0 }
        let stored = Set(try await setup.orders(OrderQuery(member: nil, limit: OrderQuery.maximumLimit)).map(\.orderId))
        #expect(Set(acked).isSubset(of: stored))
        #expect(try await setup.orders(OrderQuery(member: nil, status: .exactly(.pendingNew))).isEmpty)
    }
}
