/// How the service group names the driver (`sl-service=` in its log lines, taken
/// with `"\(service)"` when the group is configured). Without it the driver was
/// reflected whole, every tick of the run included: work and a log line that grew
/// with the data (13 % of the desk's CPU in a 5,000-tick run of a debug build).
extension BacktestDriver: CustomStringConvertible {
    var description: String { "BacktestDriver(\(ticks.count) ticks, strategies: \(names.joined(separator: ", ")))" }
}
