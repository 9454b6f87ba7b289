import DeskAPI
import DeskCore
import DeskHTTP
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `desk_http_requests_total`'s route label, whatever paths clients send.
@Suite("Request metrics labels")
struct MetricsLabelTests {
    @Test("500 random paths, methods and ids leave only the route table's patterns and `unmatched` as route labels")
    func boundedLabels() async throws {
        try await DeskHarness.run { desk in
            var generator = SystemRandomNumberGenerator()
            let token = try await desk.token("alice")
            for index in 0..<500 {
                let noise = String(UInt64.random(in: 0...UInt64.max, using: &generator), radix: 36)
                let uri =
                    switch index % 5 {
                    case 0: "/\(noise)"
                    case 1: "/orders/\(noise)"
                    case 2: "/v2/\(noise)/\(index)"
                    case 3: "/admin/strategies/\(noise)/logs"
                    default: "/%2e%2e/\(noise)?x=\(index)"
                    }
                let method: HTTPRequest.Method = index % 2 == 0 ? .get : .post
                _ = try await desk.client.execute(
                    uri: uri, method: method, headers: desk.headers(token: token, contentType: "application/json"),
                    body: nil)
            }
            let response = try await desk.client.execute(
                uri: "/metrics", method: .get, headers: desk.headers(token: desk.admin, contentType: nil))
            let text = String(buffer: response.body)
            let labels = Set(
                text.split(separator: "\n").filter { $0.hasPrefix("desk_http_requests_total{") }.compactMap { line in
                    line.firstRange(of: #"route=""#).map { String(line[$0.upperBound...].prefix { $0 != "\"" }) }
                })
            let allowed = Set((Routes.all + AlpacaRoutes.all).map(\.pattern)).union(["unmatched"])
            #expect(labels.contains("unmatched"))
            #expect(labels.isSubset(of: allowed), "labels outside the route table: \(labels.subtracting(allowed))")
            #expect(labels.count <= 6, "\(labels.count) route labels: \(labels.sorted())")
        }
    }

    @Test("every order outcome has its desk_orders_total counter from the start, so none is dropped")
    func everyOrderOutcomeCounted() {
        let metrics = DeskMetrics()
        for outcome in OrderOutcome.allCases { metrics.recordRefusedRequest(outcome: outcome) }
        let text = String(decoding: metrics.render(), as: UTF8.self)
        for outcome in OrderOutcome.allCases {
            #expect(text.contains(#"desk_orders_total{outcome="\#(outcome.rawValue)"} 1"#), "\(outcome)")
        }
    }
}
