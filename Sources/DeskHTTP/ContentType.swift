import DeskCore
import Foundation
import Hummingbird

/// Reading a request's `Content-Type`.
enum ContentType {
    /// `application/json` from `application/json; charset=utf-8`, lowercased.
    static func mediaType(_ contentType: String) -> String {
        contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    }

    /// Refuses a declared charset other than UTF-8 (415); no charset means UTF-8.
    static func checkCharset(_ request: Request) throws(DeskHTTPError) {
        guard let contentType = request.headers[.contentType] else { return }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let parts = parameter.split(separator: "=", maxSplits: 1).map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            }
            guard parts.count == 2, parts[0] == "charset" else { continue }
            let charset = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            if charset != "utf-8" && charset != "utf8" {
                throw DeskHTTPError(
                    .unsupportedMediaType,
                    "charset \(OrderValidation.quoted(charset)) is not accepted: JSON bodies are UTF-8 (send charset=utf-8 or no charset)"
                )
            }
        }
    }
}
