import TroveCore
import TroveOpenAPI
import Yams

/// The OpenAPI 3.1 document (`openapi.yaml`, embedded at build time), as served at `GET /openapi.json`: the
/// YAML read once into JSON, key order kept, with each family's shared parts filled in from
/// `x-trove-families` (its credential where an operation names none, and its family-wide error answers).
public enum APIDocument {
    /// The document, ready to serve; nil never happens for a document that passed the tests.
    public static let json: JSON = {
        do {
            guard let node = try Yams.compose(yaml: OpenAPISource.yaml) else { return .object([]) }
            return withFamilies(try value(node))
        } catch {
            return ["error": .string("openapi.yaml does not parse: \(error)")]
        }
    }()

    public static let bytes: [UInt8] = JSONWriter.bytes(json)

    /// Every operation in the document, as `Route`s (path templates as the router writes them).
    public static var routes: [Route] {
        guard case .object(let paths)? = json["paths"] else { return [] }
        return paths.flatMap { path in
            guard case .object(let item) = path.value else { return [Route]() }
            return item.compactMap { Self.methods.contains($0.key) ? Route(method: $0.key.uppercased(), path: path.key) : nil }
        }
    }

    static let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    /// YAML to JSON: mappings keep their order; plain scalars take the type YAML resolves them to.
    static func value(_ node: Node) throws -> JSON {
        switch node {
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return .null
            case .bool: return node.bool.map(JSON.bool) ?? .string(scalar.string)
            case .int: return node.int.map { .int(Int64($0)) } ?? .string(scalar.string)
            case .float: return node.float.map(JSON.double) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .mapping(let mapping):
            return .object(try mapping.map { key, value in JSONMember(key.string ?? "", try Self.value(value)) })
        case .sequence(let sequence):
            return .array(try sequence.map(value))
        case .alias(let alias):
            throw YamlError.representer(problem: "unresolved alias \(alias)")
        }
    }

    /// Fills each operation under a family's path prefix with the family's `security` (unless it names its
    /// own) and its shared responses (unless it lists that status itself), then drops the extension.
    static func withFamilies(_ document: JSON) -> JSON {
        guard case .object(var top) = document, case .object(let families)? = document["x-trove-families"],
              let pathsIndex = top.firstIndex(where: { $0.key == "paths" }), case .object(var paths) = top[pathsIndex].value
        else { return document }
        for p in paths.indices {
            guard let family = families.first(where: { paths[p].key.hasPrefix($0.key) })?.value,
                  case .object(var item) = paths[p].value else { continue }
            for o in item.indices where methods.contains(item[o].key) {
                guard case .object(var operation) = item[o].value else { continue }
                if operation.firstIndex(where: { $0.key == "security" }) == nil, let security = family["security"] {
                    operation.append(JSONMember("security", security))
                }
                if let r = operation.firstIndex(where: { $0.key == "responses" }), case .object(var responses) = operation[r].value,
                   case .object(let shared)? = family["responses"] {
                    for answer in shared where !responses.contains(where: { $0.key == answer.key }) {
                        responses.append(JSONMember(answer.key, ["$ref": .string("#/components/responses/\(answer.value.stringValue ?? "")")]))
                    }
                    operation[r].value = .object(responses)
                }
                item[o].value = .object(operation)
            }
            paths[p].value = .object(item)
        }
        top[pathsIndex].value = .object(paths)
        top.removeAll { $0.key == "x-trove-families" }
        return .object(top)
    }
}
