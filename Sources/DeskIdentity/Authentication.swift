import DeskCore
import DeskLedger

/// Why a caller could not be identified, in a sentence that says what to send instead.
public struct IdentityError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of refusal it is (HTTP turns it into 401, 403, 400 or 500).
    public enum Kind: Sendable, Equatable {
        /// No usable credentials: nothing, a malformed header, an unknown or revoked token.
        case unauthenticated
        /// Credentials that are valid but do not allow this: another member's name, a metrics token.
        case forbidden
        /// A member name that is not one.
        case malformed
        /// The desk could not check the credentials.
        case unavailable
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// A request without any credentials, in words that say how to get some.
    public static let missingToken = IdentityError(
        .unauthenticated,
        "missing bearer token: send \"Authorization: Bearer <token>\" (an admin issues one with: desk tokens issue <member>). The X-User-ID header alone is accepted only when the desk runs with --trust-user-header"
    )
}

/// Turns what a request presents into a `Caller`: a bearer token (looked up in
/// the ledger by its hash), or, in development mode only, the seed's
/// self-declared member name. Transport-neutral, so that HTTP's middleware, a
/// web session or another API can share it.
public struct TokenAuthenticator: Sendable {
    /// The seed's member when a development-mode request names none.
    public static let seedDefaultMember = "default_user"

    let ledger: Ledger
    /// The venue of tokens issued without one.
    let defaultVenue: String

    /// Looks tokens up in `ledger`; a token issued without a venue trades on `defaultVenue`.
    public init(ledger: Ledger, defaultVenue: String) {
        self.ledger = ledger
        self.defaultVenue = defaultVenue
    }

    /// The caller behind an `Authorization` header value (`Bearer <token>`).
    /// - Parameter claimedMember: the seed's `X-User-ID`, if sent: it must name the token's own member.
    public func caller(authorization: String, claimedMember: String?) async throws(IdentityError) -> Caller {
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw IdentityError(.unauthenticated, "the Authorization header must be \"Bearer <token>\"")
        }
        guard let identity = try await identity(token: String(parts[1])) else {
            throw IdentityError(.unauthenticated, "the bearer token is not valid (unknown or revoked)")
        }
        if let claimedMember, claimedMember != identity.member {
            throw IdentityError(
                .forbidden,
                "X-User-ID \(OrderValidation.quoted(claimedMember)) does not match this token's member \"\(identity.member)\"; a token only trades as its own member"
            )
        }
        return Caller(identity, defaultVenue: defaultVenue)
    }

    /// The live token `token` is, if any.
    private func identity(token: String) async throws(IdentityError) -> TokenIdentity? {
        do {
            return try await ledger.identity(token: token.trimmingCharacters(in: .whitespaces))
        } catch {
            throw IdentityError(.unavailable, "the desk could not check the token: \(error)")
        }
    }

    /// Alpaca's key pair (`APCA-API-KEY-ID` / `APCA-API-SECRET-KEY`, or the trading
    /// stream's `key_id` / `secret_key`): the secret is the token; the key id is the
    /// token's member (`alice`) or the token's id as `desk tokens list` shows it (`7`).
    public func caller(keyId: String, secret: String) async throws(IdentityError) -> Caller {
        guard let identity = try await identity(token: secret) else {
            throw IdentityError(
                .unauthenticated,
                "unauthorized: the secret key is not a valid desk token (unknown or revoked); an admin issues one with: desk tokens issue <member>"
            )
        }
        guard keyId == identity.member || keyId == String(identity.tokenId) else {
            throw IdentityError(
                .unauthenticated,
                "unauthorized: the key id \(OrderValidation.quoted(keyId)) names neither this token's member nor its id"
            )
        }
        return Caller(identity, defaultVenue: defaultVenue)
    }

    /// A bare token (the trading stream's `oauth_token`, or `Authorization: Bearer` without the header around it).
    public func caller(token: String) async throws(IdentityError) -> Caller {
        try await caller(authorization: "Bearer " + token, claimedMember: nil)
    }

    /// Development mode (`--trust-user-header`): the member a request names itself, as the seed trusted it.
    public static func developmentCaller(claimedMember: String?) throws(IdentityError) -> Caller {
        let member = claimedMember ?? seedDefaultMember
        guard Identifier.isSafe(member) else {
            throw IdentityError(
                .malformed, "X-User-ID \(OrderValidation.quoted(member)) is not a member id: \(Identifier.rule)")
        }
        return Caller(member: member)
    }
}

/// Who may use a group of routes. Each group states one; the caller is checked
/// once, before any of its handlers runs.
public enum Access: Sendable {
    /// Orders and a member's own reads: any caller but a metrics token.
    case member
    /// The admin API: admin tokens.
    case admin
    /// Overseeing members (kill switches): admin and officer tokens.
    case oversight
    /// Prometheus metrics: the admin token or a metrics token (they name every member's strategies).
    case metrics

    /// The caller, when `access` lets them in; otherwise why not.
    public func admit(_ caller: Caller?) throws(IdentityError) -> Caller {
        guard let caller else { throw IdentityError.missingToken }
        switch self {
        case .member, .admin, .oversight:
            if caller.isMetricsOnly {
                throw IdentityError(
                    .forbidden,
                    "this is a metrics token: it may read /metrics and nothing else; use a member's token (desk tokens issue <member>)"
                )
            }
            if self == .admin && !caller.isAdmin {
                throw IdentityError(
                    .forbidden, "the admin API needs an admin token (desk tokens issue <member> --admin)")
            }
            if self == .oversight && !caller.oversees {
                throw IdentityError(
                    .forbidden,
                    "this needs an admin or officer token (desk tokens issue <member> --officer)")
            }
        case .metrics:
            guard caller.isAdmin || caller.isMetricsOnly else {
                throw IdentityError(
                    .forbidden,
                    "/metrics needs the admin token or a metrics token (desk tokens issue prometheus --metrics): it names every member's strategies"
                )
            }
        }
        return caller
    }
}

extension Caller {
    /// The caller a live token stands for; a token issued without a venue trades on `defaultVenue`.
    init(_ identity: TokenIdentity, defaultVenue: String) {
        self.init(
            member: identity.member, strategy: identity.strategy, isMetricsOnly: identity.isMetricsOnly,
            role: identity.role, venue: identity.venue.isEmpty ? defaultVenue : identity.venue)
    }
}
