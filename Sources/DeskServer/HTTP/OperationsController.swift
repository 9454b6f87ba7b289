import Hummingbird

/// `GET /healthz` and `GET /metrics` (Prometheus text). No token needed.
struct OperationsController {
    let metrics: DeskMetrics
    let brokerName: String

    func addRoutes(to router: some RouterMethods<DeskRequestContext>) {
        router.get("healthz") { _, _ in
            try JSONReply.make(["status": "ok", "broker": brokerName])
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render())))
        }
    }
}
