// The benchmark baseline: a bare Hummingbird server that decodes the same
// protobuf OrderRequest as `POST /order` and answers a fixed OrderResponse, with
// no identity, risk, ledger or broker. `desk-baseline --port N`.
import DeskProto
import Foundation
import Hummingbird
import Logging

let arguments = CommandLine.arguments
let port = arguments.firstIndex(of: "--port").flatMap { Int(arguments[$0 + 1]) } ?? 8090

let fixed = {
    var response = Orders_OrderResponse()
    response.status = "success"
    response.orderID = "00000000-0000-0000-0000-000000000000"
    response.orderStatus = "filled"
    return response
}()

let router = Router()
router.post("order") { request, _ -> Response in
    let body = try await request.body.collect(upTo: 64 * 1024)
    let order = try Orders_OrderRequest(serializedBytes: Array(buffer: body))
    var response = fixed
    response.symbol = order.symbol
    response.qty = order.qty
    response.side = order.side
    response.filledQty = order.qty
    return Response(
        status: .created, headers: [.contentType: "application/x-protobuf"],
        body: .init(byteBuffer: ByteBuffer(bytes: try response.serializedBytes() as [UInt8])))
}
router.get("healthz") { _, _ in "ok" }
var logger = Logger(label: "desk-baseline")
logger.logLevel = .warning
let app = Application(
    router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "desk-baseline"),
    logger: logger)
try await app.runService()
