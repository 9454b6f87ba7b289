import Synchronization

/// A value that is set once and that any number of tasks can wait for: a
/// desk that listens, an order desk that recovered, a child process that
/// exited. `wait()` returns at once when the value is already there; a
/// second `fire` is ignored.
public final class OneShot<Value: Sendable>: Sendable {
    private let state = Mutex<(value: Value?, waiters: [CheckedContinuation<Value, Never>])>((nil, []))

    public init() {}

    /// Sets the value and wakes every waiter; does nothing when it was set already.
    public func fire(_ value: Value) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, Never>] in
            guard state.value == nil else { return [] }
            state.value = value
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    /// The value, once it is set.
    public func wait() async -> Value {
        await withCheckedContinuation { continuation in
            let value = state.withLock { state -> Value? in
                if let value = state.value { return value }
                state.waiters.append(continuation)
                return nil
            }
            if let value { continuation.resume(returning: value) }
        }
    }

    /// The value if it is set, without waiting.
    public var value: Value? { state.withLock { $0.value } }
}

extension OneShot where Value == Void {
    /// Marks the moment as reached.
    public func fire() { fire(()) }

    /// Whether `fire()` was called.
    public var hasFired: Bool { value != nil }
}
