import DeskAPI
import DeskBroker
import DeskCore
import DeskProto
import DeskServices
import Foundation
import Hummingbird
import SwiftProtobuf

/// The seed's order wire format: protobuf `OrderRequest` in, `OrderResponse`
/// out (or the same messages as JSON with the proto field names).
enum OrderWire {
    enum Format: Sendable {
        case protobuf, json

        /// The request's format from its Content-Type; nil when it is neither.
        /// No Content-Type means protobuf, as the seed's clients always sent it.
        init?(request: Request) {
            guard let contentType = request.headers[.contentType] else {
                self = .protobuf
                return
            }
            let mediaType = contentType.split(separator: ";").first.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            }
            switch mediaType {
            case "application/x-protobuf", "application/protobuf", "application/octet-stream", "": self = .protobuf
            case "application/json": self = .json
            default: return nil
            }
        }

        var contentType: String { self == .json ? "application/json" : "application/x-protobuf" }
    }

    static let jsonDecoding: JSONDecodingOptions = {
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = false
        return options
    }()

    static let fieldNames =
        "symbol, qty, side, order_type, time_in_force, limit_price, stop_price, trail_price, trail_percent, notional, extended_hours, order_class, take_profit, stop_loss, client_order_id"

    /// Decodes an order request body, or says exactly what is wrong with it.
    static func decode(_ body: ByteBuffer, format: Format) throws(DeskHTTPError) -> Orders_OrderRequest {
        let bytes = Array(buffer: body)
        if bytes.isEmpty {
            throw DeskHTTPError(
                .badRequest,
                "empty body: send an OrderRequest (\(format == .json ? "a JSON object" : "protobuf")) with \(fieldNames)"
            )
        }
        switch format {
        case .protobuf:
            if let field = duplicatedField(bytes) {
                throw DeskHTTPError(
                    .badRequest,
                    "OrderRequest carries field \(field) (\(fieldName(field))) more than once; protobuf would keep the last one, the desk refuses the order instead: send each field once"
                )
            }
            let request: Orders_OrderRequest
            do {
                request = try Orders_OrderRequest(serializedBytes: bytes)
            } catch {
                throw DeskHTTPError(
                    .badRequest,
                    "body is not a valid protobuf OrderRequest (\(error)); send application/x-protobuf bytes of orders.OrderRequest, or JSON with Content-Type: application/json"
                )
            }
            if !request.unknownFields.data.isEmpty || !request.takeProfit.unknownFields.data.isEmpty
                || !request.stopLoss.unknownFields.data.isEmpty
            {
                throw DeskHTTPError(
                    .badRequest,
                    "OrderRequest carries unknown fields (field numbers other than 1-15, or in take_profit or stop_loss); the desk refuses them rather than ignore part of an order. Known fields: \(fieldNames)"
                )
            }
            return request
        case .json:
            do {
                _ = try StrictJSON.check(bytes) { jsonAliases[$0] ?? $0 }
            } catch {
                throw DeskHTTPError(.badRequest, "body is not a valid JSON OrderRequest: \(error)")
            }
            do {
                return try Orders_OrderRequest(jsonUTF8Bytes: bytes, options: jsonDecoding)
            } catch JSONDecodingError.unknownField(let name) {
                throw DeskHTTPError(.badRequest, "unknown field \"\(name)\" in the order; known fields: \(fieldNames)")
            } catch {
                throw DeskHTTPError(
                    .badRequest,
                    "body is not a valid JSON OrderRequest (\(error)): send one object whose fields (\(fieldNames)) are all strings, e.g. {\"symbol\":\"AAPL\",\"qty\":\"10\",\"side\":\"buy\"}"
                )
            }
        }
    }

    /// The proto3 JSON names SwiftProtobuf also reads, to their field names.
    static let jsonAliases = [
        "orderType": "order_type", "timeInForce": "time_in_force", "limitPrice": "limit_price",
        "stopPrice": "stop_price", "trailPrice": "trail_price", "trailPercent": "trail_percent",
        "extendedHours": "extended_hours", "orderClass": "order_class", "takeProfit": "take_profit",
        "stopLoss": "stop_loss", "clientOrderId": "client_order_id",
    ]

    /// OrderRequest's field names by number.
    static func fieldName(_ number: Int) -> String {
        let names = fieldNames.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return (1...names.count).contains(number) ? names[number - 1] : "unknown"
    }

    /// The first field number that occurs twice in a protobuf message, or nil. A
    /// body that is not well-formed protobuf returns nil here and is refused by the decoder.
    static func duplicatedField(_ bytes: [UInt8]) -> Int? {
        var index = 0
        var seen: UInt64 = 0
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.count, shift < 64 {
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        while index < bytes.count {
            guard let tag = varint() else { return nil }
            let field = tag >> 3
            if (1..<64).contains(field) {
                if seen & (1 << field) != 0 { return Int(field) }
                seen |= 1 << field
            }
            switch tag & 7 {
            case 0: guard varint() != nil else { return nil }
            case 1: index += 8
            case 2:
                guard let length = varint(), length <= UInt64(bytes.count - min(index, bytes.count)) else { return nil }
                index += Int(length)
            case 5: index += 4
            default: return nil
            }
        }
        return nil
    }

    /// The order ticket a decoded request carries.
    static func ticket(_ request: Orders_OrderRequest) -> OrderTicket {
        OrderTicket(
            symbol: request.symbol, qty: request.qty, side: request.side, orderType: request.orderType,
            timeInForce: request.timeInForce, limitPrice: request.limitPrice, stopPrice: request.stopPrice,
            trailPrice: request.trailPrice, trailPercent: request.trailPercent, notional: request.notional,
            extendedHours: request.extendedHours ? "true" : "", orderClass: request.orderClass,
            takeProfitLimitPrice: request.takeProfit.limitPrice, stopLossStopPrice: request.stopLoss.stopPrice,
            stopLossLimitPrice: request.stopLoss.limitPrice)
    }

    /// The client's id for the order, when it gave one.
    static func clientOrderId(_ request: Orders_OrderRequest) -> String? {
        request.clientOrderID.isEmpty ? nil : request.clientOrderID
    }

    /// An `OrderResponse` in `format`.
    static func response(
        _ reply: Orders_OrderResponse, status: HTTPResponse.Status, format: Format, location: String? = nil
    )
        -> Response
    {
        let bytes: [UInt8]
        switch format {
        case .protobuf: bytes = (try? reply.serializedBytes()) ?? []
        case .json: bytes = jsonBytes(reply)
        }
        var headers: HTTPFields = [.contentType: format.contentType]
        if let location { headers[.location] = location }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The response as JSON with every seed field present (proto3 JSON would drop
    /// empty strings); `order_class` and `legs` only for a bracket, oco or oto order.
    static func jsonBytes(_ reply: Orders_OrderResponse) -> [UInt8] {
        let fields = [
            "status": reply.status, "order_id": reply.orderID, "message": reply.message, "symbol": reply.symbol,
            "qty": reply.qty, "side": reply.side, "filled_qty": reply.filledQty, "order_status": reply.orderStatus,
        ]
        guard !reply.orderClass.isEmpty else { return Array((try? APIJSON.encoder.encode(fields)) ?? Data()) }
        let legs = reply.legs.map { leg in
            [
                "order_id": leg.orderID, "side": leg.side, "order_type": leg.orderType, "limit_price": leg.limitPrice,
                "stop_price": leg.stopPrice, "order_status": leg.orderStatus,
            ]
        }
        return Array(
            (try? APIJSON.encoder.encode(JSONReplyWithLegs(fields: fields, orderClass: reply.orderClass, legs: legs)))
                ?? Data())
    }

    /// A reply with its order class and legs, as one JSON object.
    struct JSONReplyWithLegs: Encodable {
        var fields: [String: String]
        var orderClass: String
        var legs: [[String: String]]

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            for (key, value) in fields { try container.encode(value, forKey: Key(stringValue: key)) }
            try container.encode(orderClass, forKey: Key(stringValue: "order_class"))
            try container.encode(legs, forKey: Key(stringValue: "legs"))
        }
    }

    /// The answer to an order request: 201 with the order, or the refusal's
    /// status and message (with the order's id when the broker refused a
    /// recorded order); and the order's id, if there is one.
    static func response(
        to request: Orders_OrderRequest, placed: Result<OrderRecord, OrderRefusal>, format: Format
    ) -> (Response, orderId: String?) {
        var reply = Orders_OrderResponse()
        reply.symbol = request.symbol
        reply.qty = request.qty
        reply.side = request.side
        let status: HTTPResponse.Status
        let order: OrderRecord?
        switch placed {
        case .success(let accepted):
            order = accepted
            status = acceptedStatus
            reply.status = "success"
            reply.message = summary(accepted)
        case .failure(let refusal):
            // A kill switch's refusal of a journaled order shows no order, as the seed's route always did.
            if case .broker(let refused, _, _) = refusal { order = refused } else { order = nil }
            status = Self.status(refusal)
            reply.status = "error"
            reply.message = refusal.message
        }
        if let order {
            reply.orderID = order.orderId
            reply.orderStatus = order.status.rawValue
            reply.filledQty = ExactDecimal.plain(order.filledQty)
            // A notional order's quantity is what the desk worked out.
            if order.notional != nil { reply.qty = ExactDecimal.plain(order.qty) }
            if order.orderClass != .simple {
                reply.orderClass = order.orderClass.rawValue
                reply.legs = order.legs.map { leg in
                    var wire = Orders_OrderLeg()
                    wire.orderID = leg.orderId
                    wire.side = leg.side.rawValue
                    wire.orderType = leg.orderType.rawValue
                    wire.limitPrice = leg.limitPrice.map(ExactDecimal.plain) ?? ""
                    wire.stopPrice = leg.stopPrice.map(ExactDecimal.plain) ?? ""
                    wire.orderStatus = leg.status.rawValue
                    return wire
                }
            }
        }
        let location = order.map { Routes.order.path($0.orderId) }
        return (response(reply, status: status, format: format, location: location), order?.orderId)
    }

    /// What the seed's route answers an accepted order with.
    static let acceptedStatus = HTTPResponse.Status.created

    /// What the seed's route answers each refusal with (`/v2` answers the same).
    static func status(_ refusal: OrderRefusal) -> HTTPResponse.Status {
        switch refusal {
        case .invalid, .clientOrderIdTaken, .nothingToClose: .unprocessableContent
        case .risk, .halted, .stopped: .forbidden
        case .rateLimited: .tooManyRequests
        case .broker(_, _, let kind): status(kind)
        case .noPosition: .notFound
        case .failed: .serviceUnavailable
        }
    }

    /// What a broker's refusal of an order is answered with.
    static func status(_ kind: BrokerRefusal) -> HTTPResponse.Status {
        switch kind {
        case .invalidOrder, .notCancelable: .unprocessableContent
        case .notPermitted: .forbidden
        case .rateLimited: .tooManyRequests
        case .unknownOrder: .notFound
        }
    }

    /// `filled: 10 of 10 at an average 145.5`, `canceled: …`, `accepted; working at the broker`.
    static func summary(_ order: OrderRecord) -> String {
        switch order.status {
        case .filled, .partiallyFilled:
            "\(order.status.rawValue): \(ExactDecimal.plain(order.filledQty)) of \(ExactDecimal.plain(order.qty)) at an average \(order.filledAvgPrice.map(ExactDecimal.plain) ?? "-")"
        case .canceled, .expired, .rejected, .replaced:
            "\(order.status.rawValue)\(order.statusReason.map { ": \($0)" } ?? "")"
        case .new, .pendingNew:
            "accepted; working at the broker"
        case .held:
            "held: works once its entry has filled"
        }
    }
}

/// The status the seed's `POST /order` answers an order request's outcome with
/// (nil: accepted): what the audit log records for every order request.
public func seedOrderStatus(_ refusal: OrderRefusal?) -> Int {
    Int((refusal.map(OrderWire.status) ?? OrderWire.acceptedStatus).code)
}
