import Foundation
import Hummingbird
import NIOCore
import TroveCore

extension Response {
    static func json(_ value: JSON, status: HTTPResponse.Status = .ok) -> Response {
        json(bytes: JSONWriter.bytes(value), status: status)
    }

    static func json(bytes: [UInt8], status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension Request {
    /// The body, refused with 413 past `limit` bytes.
    func bodyBytes(limit: Int, tooLarge message: String) async throws -> [UInt8] {
        do {
            let buffer = try await body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw IngestError.tooLarge(message)
        }
    }

    /// A query parameter, matching its name whether or not the client percent-encoded it (`expand[company]`).
    func query(_ name: String) -> String? {
        let parameters = uri.queryParameters
        if let value = parameters.get(name) { return value }
        for (key, value) in parameters where String(key).removingPercentEncoding == name {
            return String(value).removingPercentEncoding ?? String(value)
        }
        return nil
    }
}
