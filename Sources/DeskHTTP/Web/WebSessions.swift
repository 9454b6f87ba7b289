import Crypto
import DeskCore
import DeskIdentity
import Foundation
import Hummingbird

/// The web desk's sessions, in the desk's memory: a random session id (the
/// cookie) → the token it was opened with, its CSRF value and its expiry. Every
/// request a session makes is checked against the ledger with that token, so
/// revoking the token ends the session at its next request. One member holds at
/// most `perMember` sessions: opening one more closes that member's oldest, never
/// anyone else's. The desk holds at most `capacity`: past it, signing in is
/// refused until one ends. A desk restart signs everyone out.
public actor WebSessions {
    /// One signed-in browser.
    struct Session {
        /// The token the member signed in with: kept here only, never written anywhere.
        var token: String
        var member: String
        var csrf: String
        var expires: Date
        var opened: Date
    }

    /// How long a session lasts from sign-in.
    public let lifetime: Duration
    /// Sessions the desk holds at once.
    public let capacity: Int
    /// Sessions one member holds at once.
    public let perMember: Int
    private var sessions: [String: Session] = [:]

    public init(lifetime: Duration = .seconds(8 * 3600), capacity: Int = 10_000, perMember: Int = 20) {
        self.lifetime = lifetime
        self.capacity = capacity
        self.perMember = perMember
    }

    /// The cookie's name over plain HTTP.
    public static let cookieName = "desk_session"
    /// The cookie's name over TLS: a `__Host-` cookie is only accepted by a browser
    /// with `Secure`, `Path=/` and no `Domain`, so no other service on the host
    /// (another port, a subdomain) can set or overwrite it.
    public static let secureCookieName = "__Host-desk_session"

    /// The cookie's name for `request`: `__Host-…` when it came over TLS.
    static func cookieName(for request: Request) -> String {
        WebController.isSecure(request) ? secureCookieName : cookieName
    }

    /// The session cookie's value `request` sent under its name for the request's scheme.
    static func cookie(of request: Request) -> String? {
        cookie(in: request.headers[.cookie], named: cookieName(for: request))
    }

    /// A new session for `token`; returns its id (the cookie's value), CSRF value
    /// and expiry; nil when the desk holds `capacity` sessions of other members'.
    func open(token: String, member: String, now: Date = Date()) -> (id: String, csrf: String, expires: Date)? {
        sessions = sessions.filter { $0.value.expires > now }
        let own = sessions.filter { $0.value.member == member }
        if own.count >= perMember, let oldest = own.min(by: { $0.value.opened < $1.value.opened }) {
            sessions[oldest.key] = nil
        }
        guard sessions.count < capacity else { return nil }
        let id = Self.secret()
        let csrf = Self.secret()
        let expires = now.addingTimeInterval(lifetime.seconds)
        sessions[Self.key(id)] = Session(token: token, member: member, csrf: csrf, expires: expires, opened: now)
        return (id, csrf, expires)
    }

    /// The live session with this id (an expired one is forgotten).
    func session(id: String, now: Date = Date()) -> Session? {
        let key = Self.key(id)
        guard let session = sessions[key] else { return nil }
        guard session.expires > now else {
            sessions[key] = nil
            return nil
        }
        return session
    }

    /// Signs a session out.
    func close(id: String) { sessions[Self.key(id)] = nil }

    /// Sessions held now.
    public var count: Int { sessions.count }

    /// Sessions are found by the SHA-256 of their id.
    static func key(_ id: String) -> String {
        SHA256.hash(data: Array(id.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// 256 random bits, base64url.
    static func secret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The session cookie's value in a `Cookie` header, if sent.
    static func cookie(in header: String?, named name: String = WebSessions.cookieName) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0] == name, !pair[1].isEmpty { return pair[1] }
        }
        return nil
    }

    /// Equal strings, compared in time that does not depend on where they differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
