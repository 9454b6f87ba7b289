import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One request to the desk listening on `port` on loopback, with `token` as its
/// bearer (or other credentials in `headers`, such as Alpaca's key headers): the
/// status and the body as text.
func deskRequest(
    _ port: Int, _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil,
    contentType: String = "application/json", token: String? = nil, headers: [(String, String)] = []
) async throws -> (status: Int, body: String) {
    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
    request.method = method
    if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body {
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(ByteBuffer(bytes: body))
    }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
    let bytes = try await response.body.collect(upTo: 1 << 22)
    return (Int(response.status.code), String(buffer: bytes))
}

/// The same with a JSON body.
func deskRequest(_ port: Int, _ method: HTTPMethod, _ path: String, token: String, json: String) async throws
    -> (status: Int, body: String)
{
    try await deskRequest(port, method, path, body: Array(json.utf8), token: token)
}
