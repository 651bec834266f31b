import Hummingbird
import TroveCore

/// Customer.io-style exports (contract §7): `/v1/exports…` with Bearer `app_api_key`, and the file behind a
/// signed link, which carries no credentials.
struct ExportController<Context: AccountContext> {
    let services: TroveServices

    func addRoutes(to router: RouteTable<Context>) {
        router.post("/v1/exports/customers") { request, context in
            let account = try context.requireAccount()
            let export = try await services.exports.createCustomers(account: account, try AppAPIJSON.customerExport(try await request.jsonBody()))
            return Response.json(["export": AppAPIJSON.export(export)])
        }
        router.post("/v1/exports/deliveries") { request, context in
            let account = try context.requireAccount()
            let export = try await services.exports.createDeliveries(account: account, try AppAPIJSON.deliveryExport(try await request.jsonBody()))
            return Response.json(["export": AppAPIJSON.export(export)])
        }
        router.get("/v1/exports") { request, context in
            let account = try context.requireAccount()
            return Response.json(["exports": .array(try await services.exports.list(account: account).map(AppAPIJSON.export))])
        }
        router.get("/v1/exports/:id") { request, context in
            let account = try context.requireAccount()
            return Response.json(["export": AppAPIJSON.export(try await services.exports.get(account: account, id: try Self.id(context)))])
        }
        router.get("/v1/exports/:id/download") { request, context in
            let account = try context.requireAccount()
            return Response.json(["url": .string(try await services.exports.downloadURL(account: account, id: try Self.id(context)))])
        }
        router.get("/exports/:id/file") { request, context in
            let file = try await services.exports.file(export: try Self.id(context), expires: request.query("expires"), signature: request.query("signature"))
            let body: ResponseBody
            switch file.file {
            case .path(let path):
                body = try await FileIO().loadFile(path: path, context: context)
            case .stored(let bytes, let parts, let read):
                // Part by part from the engine (PostgreSQL), each written before the next is read.
                body = ResponseBody(contentLength: Int(bytes)) { writer in
                    for part in 0..<parts { try await writer.write(ByteBuffer(bytes: try await read(part))) }
                    try await writer.finish(nil)
                }
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(file.name)\""],
                body: body)
        }
    }

    static func id(_ context: Context) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw ExportError.notFound("no export with id \(context.parameters.get("id") ?? "")")
        }
        return id
    }
}
