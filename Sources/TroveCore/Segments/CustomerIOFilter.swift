/// The Customer.io grammar (contract §6.2): each node has exactly one of `and`, `or`, `not`, `segment`,
/// `attribute`. `eq` compares as strings, as Customer.io does; `exists` is `ex`; any §6.1 operator name is
/// accepted as an extension.
public enum CustomerIOFilter {
    public static func parse(_ filter: JSON) throws(SegmentError) -> FilterNode {
        try node(filter, path: "filters", depth: 1)
    }

    static let keys = ["and", "or", "not", "segment", "attribute"]

    static func node(_ value: JSON, path: String, depth: Int) throws(SegmentError) -> FilterNode {
        guard depth <= FilterNode.maxDepth else {
            throw .malformed("\(path): filters nest deeper than \(FilterNode.maxDepth) levels")
        }
        guard case .object(let members) = value else { throw .invalid("\(path): must be an object") }
        let present = members.filter { keys.contains($0.key) }
        guard present.count == 1, let member = present.first else {
            throw .invalid("\(path): needs exactly one of and, or, not, segment, attribute")
        }
        let here = "\(path).\(member.key)"
        switch member.key {
        case "and", "or":
            guard case .array(let elements) = member.value else { throw .invalid("\(here): must be an array of filters") }
            var nodes: [FilterNode] = []
            for (i, element) in elements.enumerated() {
                nodes.append(try node(element, path: "\(here)[\(i)]", depth: depth + 1))
            }
            return member.key == "and" ? .all(nodes) : .any(nodes)
        case "not":
            return .not(try node(member.value, path: here, depth: depth + 1))
        case "segment":
            guard let id = member.value["id"].flatMap(PublicID.decode) else { throw .invalid("\(here).id: the id of a segment is required") }
            return .condition(FilterCondition(path: here, kind: .segment(id: id, member: true)))
        default:
            return .condition(FilterCondition(path: here, kind: .property(try attribute(member.value, path: here))))
        }
    }

    static func attribute(_ value: JSON, path: String) throws(SegmentError) -> PropertyTest {
        guard case .object = value else { throw .invalid("\(path): must be an object {field, operator, value}") }
        guard case .string(let field)? = value["field"], !field.isEmpty else { throw .invalid("\(path).field: required") }
        guard case .string(let name)? = value["operator"] else { throw .invalid("\(path).operator: required (eq, exists, ...)") }
        let op: FilterOperator
        switch name {
        case "exists": op = .ex
        default:
            guard let known = FilterOperator(rawValue: name) else {
                throw .invalid("\(path).operator: unknown operator \"\(name)\" (eq, exists, or one of \(FilterOperator.names))")
            }
            op = known
        }
        // Customer.io names the customer id `id`; here that is the uid.
        let (owner, keys) = try FilterValues.propertyPath(field == "id" ? "uid" : field, path: "\(path).field", owner: .profile, allowCompany: true)
        let checked = try FilterValues.checkedValue(value["value"], op: op, path: "\(path).value")
        return PropertyTest(owner: owner, path: keys, op: op, value: checked, asStrings: op == .eq || op == .ne)
    }
}
