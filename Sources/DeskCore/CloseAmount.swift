import Foundation

/// How much of a position to close: all of it, a quantity, or a percentage.
public enum CloseAmount: Sendable, Equatable {
    /// The whole position.
    case all
    /// At most this many shares (more than held closes the whole position).
    case qty(Decimal)
    /// This percentage (above 0, at most 100) of the position.
    case percentage(Decimal)

    /// How many of `held` shares (magnitude) to close; whole shares only when
    /// the broker takes no fractions (a percentage rounds to what it takes).
    public func quantity(of held: Decimal, fractional: Bool) -> Decimal {
        switch self {
        case .all: held
        case .qty(let qty): min(qty, held)
        case .percentage(let percent):
            ExactDecimal.rounded(held * percent / 100, scale: fractional ? OrderRules.quantityFractionDigits : 0)
        }
    }
}
