import AlpacaData
import DeskBroker
import Foundation

extension AlpacaVenue {
    /// An Alpaca venue's settings: its entry in the config file's `venues`
    ///
    /// ```json
    /// "live": {"broker": "alpaca", "base_url": "https://api.alpaca.markets",
    ///          "key_id_variable": "APCA_LIVE_KEY_ID", "secret_key_variable": "APCA_LIVE_SECRET_KEY"}
    /// ```
    ///
    /// The keys are never in the file: it names the environment variables that
    /// hold them, read when the desk starts (`resolved(environment:)`).
    public struct Settings: VenueSettings {
        public static let kind = VenueKind.alpaca
        /// Trading REST base, without `/v2` (Alpaca's paper API unless told).
        public var baseURL: String
        /// The environment variable holding the account's key id.
        public var keyIDVariable: String
        /// The environment variable holding the account's secret key.
        public var secretKeyVariable: String
        /// The account with its keys, once resolved.
        public var account: AlpacaSettings?
        /// Timeouts, polling and retries.
        public var options: Options

        /// Settings whose account is known already (`--broker alpaca` with the `APCA_API_*` variables).
        public init(account: AlpacaSettings, options: Options = Options()) {
            baseURL = account.baseURL
            keyIDVariable = "APCA_API_KEY_ID"
            secretKeyVariable = "APCA_API_SECRET_KEY"
            self.account = account
            self.options = options
        }

        enum CodingKeys: String, CodingKey {
            case baseURL = "base_url", keyIDVariable = "key_id_variable", secretKeyVariable = "secret_key_variable"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            baseURL = try container.decodeIfPresent(String.self, forKey: .baseURL) ?? AlpacaSettings.paperBaseURL
            guard baseURL.hasPrefix("https://") || baseURL.hasPrefix("http://") else {
                throw DecodingError.dataCorruptedError(
                    forKey: .baseURL, in: container,
                    debugDescription:
                        "base_url \"\(baseURL)\" must start with https:// (or http:// for a local stand-in), e.g. \(AlpacaSettings.paperBaseURL)"
                )
            }
            keyIDVariable = try Self.variable(container, .keyIDVariable)
            secretKeyVariable = try Self.variable(container, .secretKeyVariable)
            account = nil
            options = Options()
        }

        /// The name of an environment variable under `key`.
        private static func variable(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws
            -> String
        {
            let name = try container.decode(String.self, forKey: key)
            guard !name.isEmpty, name.allSatisfy({ $0 == "_" || $0.isASCII && ($0.isLetter || $0.isNumber) }),
                name.first?.isNumber == false
            else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: container,
                    debugDescription:
                        "\(key.rawValue) \"\(name)\" must name an environment variable (letters, digits and _), e.g. APCA_LIVE_KEY_ID; the key itself never goes in the file"
                )
            }
            return name
        }

        /// The account's keys from the variables the settings name; a missing one is named.
        public func resolved(environment: [String: String]) throws(VenueConfigurationError) -> Settings {
            if account != nil { return self }
            let missing = [keyIDVariable, secretKeyVariable].filter { (environment[$0] ?? "").isEmpty }
            guard missing.isEmpty, let keyID = environment[keyIDVariable],
                let secret = environment[secretKeyVariable]
            else {
                throw VenueConfigurationError(
                    "needs \(missing.joined(separator: " and ")) in the environment (the account's keys, named by key_id_variable and secret_key_variable)"
                )
            }
            var resolved = self
            resolved.account = AlpacaSettings(keyID: keyID, secretKey: secret, baseURL: baseURL)
            return resolved
        }

        /// A venue on the resolved account (unresolved settings have no keys, which Alpaca refuses).
        public func makeVenue(name: String, context: VenueContext) -> any Venue {
            AlpacaVenue(
                name: name, settings: account ?? AlpacaSettings(keyID: "", secretKey: "", baseURL: baseURL),
                options: options, logger: context.logger)
        }
    }
}
