import Testing

@testable import DeskBroker

@Suite("Recent order ids")
struct RecentIdsTests {
    @Test("keeps the last N ids, forgets the oldest first, ignores repeats")
    func bounded() {
        var ids = RecentIds(capacity: 3)
        for id in ["a", "b", "c", "b"] { ids.insert(id) }
        #expect(ids.count == 3 && ids.contains("a"))
        ids.insert("d")
        #expect(!ids.contains("a") && ids.contains("b") && ids.contains("c") && ids.contains("d"))
        ids.insert("e")
        ids.insert("f")
        #expect(ids.count == 3)
        #expect(["d", "e", "f"].allSatisfy(ids.contains) && !ids.contains("c"))
    }
}
