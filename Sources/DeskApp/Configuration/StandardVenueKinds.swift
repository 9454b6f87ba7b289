import AlpacaBroker
import DeskBroker
import Foundation

extension VenueKinds {
    /// The kinds of venue `desk serve` knows: `paper` and `alpaca`. A new
    /// broker registers its `VenueSettings` here.
    public static let standard = VenueKinds()
        .registering(PaperVenue.Settings.self)
        .registering(AlpacaVenue.Settings.self)

    /// Where `DeskConfigFile.parse` hands the kinds to the entries it decodes.
    static let userInfoKey = CodingUserInfoKey(rawValue: "desk.venueKinds")!
}
