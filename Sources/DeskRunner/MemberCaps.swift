import Foundation

/// What the admin allows one member's strategies at most (the config file's
/// `strategies.defaults` and `strategies.members`): how many strategies, and the
/// memory, CPU seconds, CPU share and disk each may have. Nil: no cap beyond the
/// desk's defaults.
public struct MemberCaps: Sendable, Equatable {
    public var maxStrategies: Int?
    public var memoryBytes: UInt64?
    public var cpuSeconds: UInt64?
    public var cpus: Double?
    /// Each strategy's disk (`StrategyLimits.diskBytes`), at most.
    public var diskBytes: UInt64?

    public init(
        maxStrategies: Int? = nil, memoryBytes: UInt64? = nil, cpuSeconds: UInt64? = nil, cpus: Double? = nil,
        diskBytes: UInt64? = nil
    ) {
        self.diskBytes = diskBytes
        self.maxStrategies = maxStrategies
        self.memoryBytes = memoryBytes
        self.cpuSeconds = cpuSeconds
        self.cpus = cpus
    }

    /// These caps with `other`'s set values in their place.
    public func overridden(by other: MemberCaps) -> MemberCaps {
        MemberCaps(
            maxStrategies: other.maxStrategies ?? maxStrategies, memoryBytes: other.memoryBytes ?? memoryBytes,
            cpuSeconds: other.cpuSeconds ?? cpuSeconds, cpus: other.cpus ?? cpus,
            diskBytes: other.diskBytes ?? diskBytes)
    }

    /// Why `limits` ask for more than these caps allow, if they do.
    public func problem(with limits: StrategyLimits, member: String) -> String? {
        if let cap = memoryBytes, let memory = limits.memoryBytes, memory > cap {
            return "limits.memory asks for \(Self.size(memory)); member \(member) may have at most \(Self.size(cap))"
        }
        if let cap = cpuSeconds, limits.cpuSeconds > cap {
            return "limits.cpu_seconds asks for \(limits.cpuSeconds); member \(member) may have at most \(cap)"
        }
        if let cap = diskBytes, let disk = limits.diskBytes, disk > cap {
            return "limits.disk asks for \(Self.size(disk)); member \(member) may have at most \(Self.size(cap))"
        }
        if let cap = cpus, let share = limits.cpus, share > cap {
            return "limits.cpus asks for \(share); member \(member) may have at most \(cap)"
        }
        return nil
    }

    /// `limits` held within the caps: what a strategy of this member runs with
    /// (a strategy that names no memory gets the cap when it is below the default).
    public func clamp(_ limits: StrategyLimits) -> StrategyLimits {
        var clamped = limits
        if let cap = memoryBytes {
            clamped.memoryBytes = min(limits.memoryBytes ?? StrategyLimits.defaultAddressSpace, cap)
        }
        if let cap = cpuSeconds { clamped.cpuSeconds = min(limits.cpuSeconds, cap) }
        if let cap = cpus { clamped.cpus = min(limits.cpus ?? cap, cap) }
        if let cap = diskBytes { clamped.diskBytes = min(limits.diskBytes ?? cap, cap) }
        return clamped
    }

    /// `"512m"`, `"1g"`, `"65536k"`, `"1048576"` → bytes (config.json's rule).
    public static func parseSize(_ text: String) -> UInt64? { StrategyConfig.parseBytes(text) }

    static func size(_ bytes: UInt64) -> String {
        if bytes % (1 << 30) == 0 { return "\(bytes >> 30)g" }
        if bytes % (1 << 20) == 0 { return "\(bytes >> 20)m" }
        return "\(bytes) bytes"
    }
}

/// The caps of every member: the defaults, and each member's own where set.
public struct MemberCapsPolicy: Sendable, Equatable {
    public var defaults: MemberCaps
    public var members: [String: MemberCaps]

    public init(defaults: MemberCaps = MemberCaps(), members: [String: MemberCaps] = [:]) {
        self.defaults = defaults
        self.members = members
    }

    /// The caps that hold for `member`.
    public func caps(for member: String) -> MemberCaps {
        members[member].map { defaults.overridden(by: $0) } ?? defaults
    }
}
