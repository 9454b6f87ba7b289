import DeskCore
import DeskLedger
import Foundation

/// The admin token `desk serve` keeps beside the database (mode 0600), so the
/// `desk` CLI on the same machine can use the admin API without copying secrets.
public enum AdminTokenFile {
    /// `<database folder>/desk-admin.token`.
    public static func path(forDatabase databasePath: String) -> String {
        URL(fileURLWithPath: databasePath).deletingLastPathComponent().appendingPathComponent("desk-admin.token").path
    }

    /// Reads the token file, or issues a new admin token and writes it when there
    /// is none (or the stored one was revoked). The file is 0600 from its first
    /// byte; an existing one that others could read is narrowed, and `narrowed`
    /// hears of it.
    public static func ensure(ledger: Ledger, narrowed: (FileModeChange) -> Void = { _ in }) async throws -> String {
        let path = path(forDatabase: ledger.path)
        do {
            if let change = try PrivateFiles.narrow(path, to: PrivateFiles.fileMode) { narrowed(change) }
        } catch {
            throw AdminTokenFileError(path: path, reason: error.reason)
        }
        if let existing = read(path: path), try await ledger.identity(token: existing)?.isAdmin == true {
            return existing
        }
        let issued = try await ledger.issueToken(member: "admin", isAdmin: true, issuer: .desk)
        do {
            try PrivateFiles.write(path, contents: Array((issued.secret + "\n").utf8))
        } catch {
            throw AdminTokenFileError(path: path, reason: error.reason)
        }
        return issued.secret
    }

    /// The token in the file, if there is one.
    public static func read(path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }
}

/// The admin token file could not be written.
public struct AdminTokenFileError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String {
        "cannot write the admin token file \(path) (\(reason)): check the folder's permissions"
    }
}
