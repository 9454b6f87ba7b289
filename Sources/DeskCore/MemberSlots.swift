import Synchronization

/// At most `perMember` of something held at once by each member (live pages, log
/// followers). A place is given back exactly once: by `Slot.release()`, or when the
/// slot itself goes — so a response whose body never ran (the client reset the
/// connection first) cannot keep it.
public final class MemberSlots: Sendable {
    /// Places per member at most.
    public let perMember: Int
    private let taken = Mutex<[String: Int]>([:])

    public init(perMember: Int) { self.perMember = perMember }

    /// One place, held until released or dropped.
    public final class Slot: Sendable {
        private let giveBack: Mutex<(@Sendable () -> Void)?>

        init(giveBack: @escaping @Sendable () -> Void) { self.giveBack = Mutex(giveBack) }

        /// Gives the place back (once; later calls do nothing).
        public func release() {
            giveBack.withLock { giveBack in
                defer { giveBack = nil }
                return giveBack
            }?()
        }

        deinit { release() }
    }

    /// A place for `member`; nil when they hold `perMember` already.
    public func take(member: String) -> Slot? {
        let granted = taken.withLock { taken in
            guard taken[member, default: 0] < perMember else { return false }
            taken[member, default: 0] += 1
            return true
        }
        guard granted else { return nil }
        return Slot { [self] in
            taken.withLock { taken in
                taken[member, default: 1] -= 1
                if taken[member] == 0 { taken[member] = nil }
            }
        }
    }

    /// The places `member` holds now.
    public func count(member: String) -> Int { taken.withLock { $0[member, default: 0] } }
}
