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
    /// is none (or the stored one was revoked).
    public static func ensure(ledger: Ledger) async throws -> String {
        let path = path(forDatabase: ledger.path)
        if let existing = read(path: path), try await ledger.identity(token: existing)?.isAdmin == true {
            return existing
        }
        let issued = try ledger.issueToken(member: "admin", isAdmin: true)
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data((issued.secret + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw AdminTokenFileError(path: path)
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
    public var description: String { "cannot write the admin token file \(path): check the folder's permissions" }
}
