import DeskApp
import DeskAppTestSupport
import Foundation
import Testing

@Suite("The synthetic feed's spread (--feed-spread)")
struct FeedSpreadTests {
    @Test(
        "a spread of zero or more dollars is taken; one cent unless told; anything else is refused with what is allowed",
        arguments: [
            ([], "0.01"), (["--feed-spread", "0.05"], "0.05"), (["--feed-spread", "0"], "0"),
            (["--feed-spread=-0.01"], nil), (["--feed-spread", "a cent"], nil), (["--feed-spread", "1e-2"], nil),
        ] as [([String], String?)])
    func spread(arguments: [String], expected: String?) {
        switch serveConfiguration(["--feed", "synthetic"] + arguments) {
        case .success(let configuration):
            guard case .synthetic(_, _, _, let spread) = configuration.feed else {
                Issue.record("expected the synthetic feed")
                return
            }
            #expect(expected.map { Decimal(string: $0)! } == spread)
        case .failure(let refusal):
            #expect(expected == nil, "\(refusal)")
            #expect(refusal.message.contains("--feed-spread") && refusal.message.contains("zero or more, like 0.05"))
        }
    }
}
