import Foundation
import HTTPTypes
import Testing
import TroveCore
@testable import TroveServer

/// Every reply an HTTP test receives, held to the API document: its operation (the path template matched as
/// the router matches it: literal segments before parameters) must list the status, and a JSON body must
/// validate against that response's schema. A path or method the document does not describe (the admin
/// UI, a made-up route, a 405) is left to the test that sent it.
enum DocumentedResponses {
    static let validator = SchemaValidator(document: APIDocument.json)

    static let templates: [(template: [Substring], path: String)] = {
        guard case .object(let paths)? = APIDocument.json["paths"] else { return [] }
        return paths.map { (template: $0.key.split(separator: "/"), path: $0.key) }
    }()

    /// The problems with one reply (empty when it is as documented or not described at all).
    static func problems(method: HTTPRequest.Method, uri: String, status: Int, contentType: String?, body: [UInt8]) -> [String] {
        let requestPath = String(uri.prefix { $0 != "?" })
        guard let template = match(requestPath), let operation = APIDocument.json["paths"]?[template]?[method.rawValue.lowercased()] else {
            return []
        }
        let where_ = "\(method.rawValue) \(template) → \(status)"
        guard var response = operation["responses"]?[String(status)] ?? operation["responses"]?["default"] else {
            return ["\(where_): status not in the document"]
        }
        if let ref = response["$ref"]?.stringValue, let resolved = validator.resolve(ref) { response = resolved }
        guard case .object(let contents)? = response["content"] else {
            return body.isEmpty ? [] : ["\(where_): a body where the document declares none"]
        }
        let mediaType = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard let content = contents.first(where: { $0.key == mediaType }) else {
            return ["\(where_): content type \(mediaType) not in the document (\(contents.map(\.key).joined(separator: ", ")))"]
        }
        guard mediaType == "application/json", let schema = content.value["schema"] else { return [] }
        guard let json = try? JSONParser.parse(body) else { return ["\(where_): body is not JSON"] }
        return validator.problems(json, schema).map { "\(where_): \($0)" }
    }

    /// The document's path template for a request path: per segment, a literal beats a parameter.
    static func match(_ path: String) -> String? {
        let segments = path.split(separator: "/")
        let candidates = templates.filter { t in
            t.template.count == segments.count && zip(t.template, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }
        return candidates.max { a, b in
            // Compare literal-ness segment by segment from the left.
            for (x, y) in zip(a.template, b.template) where x.hasPrefix("{") != y.hasPrefix("{") { return x.hasPrefix("{") }
            return false
        }?.path
    }

    static func check(method: HTTPRequest.Method, uri: String, status: Int, headers: HTTPFields, body: [UInt8], sourceLocation: SourceLocation) {
        for problem in problems(method: method, uri: uri, status: status, contentType: headers[.contentType], body: body) {
            Issue.record("reply not as the API document says: \(problem)", sourceLocation: sourceLocation)
        }
    }
}
