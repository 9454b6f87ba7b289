import DeskAppTestSupport
import DeskLedger
import DeskTestSupport
import Foundation
import Testing

/// One body-size limit for every face, from `desk serve`'s configuration, against
/// a real `desk serve`: `/order`, the JSON API and `/v2` each read a body of
/// exactly the limit and refuse one byte more with 413, in their own shape, with
/// a message naming the limit.
@Suite("The body-size limit")
struct BodySizeLimitTests {
    /// A face: its route, the JSON it is sent (padded with spaces to a size), its
    /// credentials, the status of an accepted body, and what its error body looks like.
    struct Face: Sendable {
        var name: String
        var path: String
        var json: String
        var alpacaKeys: Bool
        var admin: Bool
        var accepted: Int
        var errorShape: String
    }

    static let faces = [
        Face(
            name: "/order (JSON)", path: "/order",
            json: #"{"symbol":"AAPL","qty":"1","side":"buy","order_type":"market"}"#, alpacaKeys: false,
            admin: false, accepted: 201, errorShape: #""status":"error""#),
        Face(
            name: "the JSON API (/admin/prices)", path: "/admin/prices", json: #"{"symbol":"AAPL","price":"190"}"#,
            alpacaKeys: false, admin: true, accepted: 200, errorShape: #""status":"error""#),
        Face(
            name: "/v2/orders", path: "/v2/orders",
            json: #"{"symbol":"AAPL","qty":"1","side":"buy","type":"market","time_in_force":"day"}"#,
            alpacaKeys: true, admin: false, accepted: 200, errorShape: #""code":41310000"#),
    ]

    @Test(
        "every face reads a body of the limit and refuses one byte more with 413 and the limit; the default, a flag, a variable",
        arguments: [
            ([], [:], 65_536),
            (["--max-body-size", "2048"], [:], 2048),
            ([], ["DESK_MAX_BODY_SIZE": "4096"], 4096),
        ] as [([String], [String: String], Int)])
    func limitOnEveryFace(arguments: [String], environment: [String: String], limit: Int) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let setup = try Ledger(path: database)
        let admin = try await setup.issueToken(member: "root", isAdmin: true).secret
        let alice = try await setup.issueToken(member: "alice").secret
        let desk = try DeskServerProcess(
            database: database, folder: folder, arguments: arguments, environment: environment)
        defer { desk.stop() }
        let price = try await deskRequest(
            desk.port, .POST, "/admin/prices", token: admin, json: #"{"symbol":"AAPL","price":"190"}"#)
        #expect(price.status == 200, "\(price.body)")
        for face in Self.faces {
            for size in [limit, limit + 1] {
                let body = Array(face.json.utf8) + [UInt8](repeating: 0x20, count: size - face.json.utf8.count)
                let reply = try await deskRequest(
                    desk.port, .POST, face.path, body: body,
                    token: face.alpacaKeys ? nil : (face.admin ? admin : alice),
                    headers: face.alpacaKeys ? [("APCA-API-KEY-ID", "alice"), ("APCA-API-SECRET-KEY", alice)] : [])
                if size == limit {
                    #expect(reply.status == face.accepted, "\(face.name), \(size) bytes: \(reply.body)")
                } else {
                    #expect(reply.status == 413, "\(face.name), \(size) bytes: \(reply.body)")
                    #expect(
                        reply.body.contains(
                            "the body is larger than \(limit) bytes, the most this desk reads (--max-body-size)"),
                        "\(face.name): \(reply.body)")
                    #expect(reply.body.contains(face.errorShape), "\(face.name): \(reply.body)")
                }
            }
        }
    }

    @Test(
        "--max-body-size and DESK_MAX_BODY_SIZE: a whole number of bytes in range, else a clear refusal",
        arguments: [
            ([:], [], "65536"),
            ([:], ["--max-body-size", "1024"], "1024"),
            (["DESK_MAX_BODY_SIZE": "16777216"], [], "16777216"),
            ([:], ["--max-body-size", "1023"], "--max-body-size 1023 is out of range: use 1024-16777216 bytes"),
            ([:], ["--max-body-size", "64k"], "--max-body-size 64k is not a whole number: use 1024-16777216 bytes"),
            (["DESK_MAX_BODY_SIZE": "0"], [], "DESK_MAX_BODY_SIZE=0 is out of range: use 1024-16777216 bytes"),
        ] as [([String: String], [String], String)])
    func setting(environment: [String: String], arguments: [String], expected: String) {
        switch serveConfiguration(arguments, environment) {
        case .success(let configuration): #expect("\(configuration.maximumBodySize)" == expected)
        case .failure(let failure): #expect(failure.message.contains(expected), "\(failure.message)")
        }
    }
}
