import Hummingbird
import TroveCore

/// Data in (contract §3): `POST /v3/observe/hooks[/:account_secret]/{profiles|companies|events}[/batch]`.
struct IngestController<Context: AccountContext> {
    let services: TroveServices

    func addRoutes(to router: RouteTable<Context>) {
        for prefix in ["/v3/observe/hooks/:account_secret", "/v3/observe/hooks"] {
            for model in Model.allCases {
                let path = "\(prefix)/\(Self.pathName(model))"
                router.post(RouterPath(path)) { request, context in try await single(model, request, context) }
                router.post(RouterPath(path + "/batch")) { request, context in try await batch(model, request, context) }
            }
        }
    }

    static func pathName(_ model: Model) -> String {
        switch model {
        case .profile: return "profiles"
        case .company: return "companies"
        case .event: return "events"
        }
    }

    func single(_ model: Model, _ request: Request, _ context: Context) async throws -> Response {
        let account = try context.requireAccount()
        let body = try await request.bodyBytes(
            limit: Ingestor.maxObjectBytes, tooLarge: "body over 1 MiB: a single object may be at most 1 MiB (use the /batch endpoint)")
        let id = try await services.ingestor.ingest(model, account: account, body: body, source: .hook)
        return .json(ChameleonJSON.created(model, id: id))
    }

    func batch(_ model: Model, _ request: Request, _ context: Context) async throws -> Response {
        let account = try context.requireAccount()
        let body = try await request.bodyBytes(limit: Ingestor.maxBatchBytes, tooLarge: "body over 16 MiB: split the batch")
        let reply = try await services.ingestor.ingestBatch(
            model, account: account, body: body, idempotencyKey: request.headers[.idempotencyKey], source: .hook,
            reply: { BatchReply(status: 202, body: JSONWriter.bytes(ChameleonJSON.batch($0))) })
        return .json(bytes: reply.body, status: HTTPResponse.Status(code: reply.status))
    }
}
