import ArgumentParser
import DeskAPI

// The API's choices are flags too: `desk orders --status open` reads the same
// spellings, with the same list of what is allowed, as `GET /orders?status=open`.

extension OrderStatusFilter: ExpressibleByArgument {
    public static var allValueStrings: [String] { spellings }
}

extension PositionGrouping: ExpressibleByArgument {}
