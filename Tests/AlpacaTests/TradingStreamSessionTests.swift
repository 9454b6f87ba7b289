import AlpacaProtocol
import MessagePack
import Testing

/// The server's side of `trade_updates`, without I/O: each client message and the
/// actions it must lead to.
@Suite("trade_updates: the server's session")
struct TradingStreamSessionTests {
    static func authenticate(key: String = "alice", secret: String = "token") -> MessagePackValue {
        .map(["action": "authenticate", "data": .map(["key_id": .string(key), "secret_key": .string(secret)])])
    }

    static let listen: MessagePackValue = .map(["action": "listen", "data": .map(["streams": ["trade_updates"]])])

    @Test("authenticate, checked, then listen: exactly one authorization, then listening")
    func handshake() {
        var session = TradingStreamSession()
        #expect(session.received(Self.authenticate()) == [.checkKeys(keyId: "alice", secret: "token")])
        #expect(
            session.checked(true) == [
                .send(TradingStreamSession.authorization(authorized: true, action: "authenticate"))
            ])
        #expect(
            session.received(Self.listen) == [.listen(true), .send(TradingStreamSession.listening(["trade_updates"]))])
        #expect(session.isListening)
        let stop: MessagePackValue = .map(["action": "listen", "data": .map(["streams": []])])
        #expect(session.received(stop) == [.listen(false), .send(TradingStreamSession.listening([]))])
    }

    @Test("an OAuth token is checked as the desk token")
    func oauth() {
        var session = TradingStreamSession()
        let message: MessagePackValue = .map(["action": "authenticate", "data": .map(["oauth_token": "secret"])])
        #expect(session.received(message) == [.checkToken("secret")])
    }

    @Test("refusals: listening before (or after failed) authentication, keys missing, unknown actions, not a message")
    func refusals() {
        var session = TradingStreamSession()
        let unauthorized = TradingStreamSession.authorization(authorized: false, action: "listen")
        #expect(session.received(Self.listen) == [.send(unauthorized)])
        _ = session.received(Self.authenticate())
        #expect(
            session.checked(false) == [
                .send(TradingStreamSession.authorization(authorized: false, action: "authenticate"))
            ])
        #expect(session.received(Self.listen) == [.send(unauthorized)])
        let keyless: MessagePackValue = .map(["action": "authenticate", "data": .map([:])])
        #expect(
            session.received(keyless) == [
                .send(TradingStreamSession.authorization(authorized: false, action: "authenticate"))
            ])
        guard case .send(let error)? = session.received(.map(["action": "dance"])).first else {
            Issue.record("no answer")
            return
        }
        #expect(error["stream"]?.stringValue == "error")
        #expect(session.received(nil).count == 1)
    }

    @Test("a failed re-authentication while listening stops the events first")
    func reauthentication() {
        var session = TradingStreamSession()
        _ = session.received(Self.authenticate())
        _ = session.checked(true)
        _ = session.received(Self.listen)
        _ = session.received(Self.authenticate(key: "bob", secret: "alice's token"))
        #expect(
            session.checked(false) == [
                .listen(false), .send(TradingStreamSession.authorization(authorized: false, action: "authenticate")),
            ])
        #expect(!session.isListening && !session.isAuthenticated)
    }
}
