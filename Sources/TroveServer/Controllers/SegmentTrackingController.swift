import CompressNIO
import Hummingbird
import NIOCore
import TroveCore

/// Segment's HTTP tracking API (contract §14) under `/v1`: the calls, the batch (and the short paths
/// analytics.js posts to), authenticated by the account's write key, answered as Segment does:
/// `200 {"success":true}`, errors `{"success":false,"code":"…","message":"…"}`.
struct SegmentTrackingController<Context: AccountContext> {
    let services: TroveServices

    /// Every path and the call it stands for. `/v1/import` is the batch's older name; the one-letter
    /// paths are analytics.js's (`/v1/b` its batches).
    static var routes: [(path: String, call: SegmentTracking.Call)] {
        [("/v1/batch", .batch), ("/v1/import", .batch), ("/v1/b", .batch)]
            + SegmentMessage.Kind.allCases.flatMap { kind in
                [("/v1/\(kind.rawValue)", SegmentTracking.Call.single(kind)), ("/v1/\(kind.rawValue.prefix(1))", .single(kind))]
            }
    }

    static var paths: Set<String> { Set(routes.map(\.path)) }

    /// The `code` of an error reply (analytics-python reads `code` and `message`).
    static func code(_ status: Int) -> String {
        switch status {
        case 401: return "unauthorized"
        case 429: return "rate_limited"
        case 500...: return "unavailable"
        default: return "invalid_request"
        }
    }

    func addRoutes(to router: RouteTable<Context>) {
        for (path, call) in Self.routes {
            router.post(RouterPath(path)) { request, _ in try await receive(call, request) }
        }
    }

    func receive(_ call: SegmentTracking.Call, _ request: Request) async throws -> Response {
        // A key in the header is checked before the body is read, so a wrong one is a 401 whatever it sends.
        let headerAccount: Int64? = request.hasBasicAuthorization
            ? try await services.segmentAccount(request, bodyWriteKey: nil) : nil
        let limit = call == .batch ? SegmentTracking.maxBatchBytes : SegmentTracking.maxMessageBytes
        let body = try await request.decodedBody(limit: limit)
        let read = try SegmentTracking.read(call, body: body, receivedAt: services.clock.now())
        let account = if let headerAccount { headerAccount } else { try await services.segmentAccount(request, bodyWriteKey: read.writeKey) }
        let outcome = try await services.segmentTracking.apply(read, account: account)
        guard !outcome.errors.isEmpty else { return .json(bytes: JSONWriter.bytes(["success": true]), headers: Self.anyOrigin) }
        // A single call refused: its one error, as the error middleware would give it.
        if !read.isBatch, let refusal = outcome.errors.first { throw refusal.error }
        let summary = "\(outcome.errors.count) of \(read.count) messages refused (the other \(outcome.accepted) stored): "
            + outcome.errors.prefix(3).map(\.error.description).joined(separator: "; ")
        let reply: JSON = [
            "success": false, "code": "invalid_request", "message": .string(summary), "accepted": .int(Int64(outcome.accepted)),
            "errors": .array(outcome.errors.map { ["index": .int(Int64($0.index)), "message": .string($0.error.description)] }),
        ]
        return .json(bytes: JSONWriter.bytes(reply), status: .badRequest, headers: Self.anyOrigin)
    }

    /// Browsers' analytics.js reads the reply from any page's origin.
    static var anyOrigin: HTTPFields { [.accessControlAllowOrigin: "*"] }
}

extension Request {
    /// The body, gunzipped when `Content-Encoding: gzip` (or `deflate`) says so (SDKs compress batches);
    /// refused with 413 when it, or what it unpacks to, passes `limit` bytes.
    func decodedBody(limit: Int) async throws -> [UInt8] {
        let tooLarge = "body over \(limit / 1024) KB"
        let encoding = headers[.contentEncoding]?.lowercased().trimmingCharacters(in: .whitespaces) ?? "identity"
        let algorithm: CompressionAlgorithm
        switch encoding {
        case "identity", "": return try await bodyBytes(limit: limit, tooLarge: tooLarge)
        case "gzip", "x-gzip": algorithm = .gzip()
        case "deflate": algorithm = .zlib()
        default: throw IngestError.malformed("Content-Encoding: \"\(encoding.prefix(40))\" is not gzip, deflate or identity")
        }
        var compressed: ByteBuffer
        do {
            compressed = try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw IngestError.tooLarge(tooLarge)
        }
        do {
            return Array(try compressed.decompress(with: algorithm, maxSize: limit + 1).readableBytesView)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw IngestError.tooLarge("body unpacks to more than \(limit / 1024) KB")
        } catch {
            throw IngestError.malformed("body: not valid \(encoding) data (\(error))")
        }
    }
}
