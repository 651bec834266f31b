/// The Chameleon grammar (contract §6.1): `{"items":[...], "items_op":"and"|"or"}` with property, group,
/// segment and event items.
public enum ChameleonFilter {
    /// Parses `{items, items_op}` (other keys of `body` are ignored: a segment body also has its name).
    public static func parse(_ body: JSON) throws(SegmentError) -> FilterNode {
        guard case .object = body else { throw .invalid("filter: must be an object with items and items_op") }
        guard let items = body["items"] else { throw .invalid("items: required (an array of filter items)") }
        let op = try combinator(body["items_op"], path: "items_op")
        return try list(items, op: op, path: "items", depth: 1)
    }

    /// `filters` + `filters_op` as `/v3/analyze/profiles` takes them.
    public static func parse(filters: JSON, op: JSON?) throws(SegmentError) -> FilterNode {
        try list(filters, op: combinator(op, path: "filters_op"), path: "filters", depth: 1)
    }

    static func combinator(_ value: JSON?, path: String) throws(SegmentError) -> Bool {
        switch value {
        case nil, .null?, .string("and")?: return true
        case .string("or")?: return false
        default: throw .invalid("\(path): must be \"and\" or \"or\"")
        }
    }

    static func list(_ value: JSON, op isAnd: Bool, path: String, depth: Int) throws(SegmentError) -> FilterNode {
        guard depth <= FilterNode.maxDepth else {
            throw .malformed("\(path): filters nest deeper than \(FilterNode.maxDepth) levels")
        }
        guard case .array(let elements) = value else { throw .invalid("\(path): must be an array of filter items") }
        var nodes: [FilterNode] = []
        for (i, element) in elements.enumerated() {
            nodes.append(try item(element, path: "\(path)[\(i)]", depth: depth))
        }
        return isAnd ? .all(nodes) : .any(nodes)
    }

    static func item(_ item: JSON, path: String, depth: Int) throws(SegmentError) -> FilterNode {
        guard case .object = item else { throw .invalid("\(path): must be an object") }
        let kind = item["kind"]?.stringValue ?? "property"
        switch kind {
        case "property":
            return .condition(FilterCondition(path: path, kind: .property(try property(item, path: path, allowCompany: true))))
        case "group":
            guard let filters = item["filters"] else { throw .invalid("\(path).filters: required for a group") }
            return try list(filters, op: combinator(item["filters_op"], path: "\(path).filters_op"), path: "\(path).filters", depth: depth + 1)
        case "segment":
            let member: Bool
            switch item["op"] {
            case nil, .string("eq")?: member = true
            case .string("ne")?: member = false
            default: throw .invalid("\(path).op: a segment item takes \"eq\" or \"ne\"")
            }
            guard let value = item["value"], let id = PublicID.decode(value) else {
                throw .invalid("\(path).value: the id of a segment is required")
            }
            return .condition(FilterCondition(path: path, kind: .segment(id: id, member: member)))
        case "event":
            return .condition(FilterCondition(path: path, kind: .event(try event(item, path: path))))
        default:
            throw .invalid("\(path).kind: unknown kind \"\(kind)\" (property, group, segment or event)")
        }
    }

    static func property(_ item: JSON, path: String, allowCompany: Bool, owner: PropertyOwner = .profile) throws(SegmentError) -> PropertyTest {
        guard case .string(let prop)? = item["prop"], !prop.isEmpty else { throw .invalid("\(path).prop: required (a property name)") }
        guard case .string(let opName)? = item["op"] else { throw .invalid("\(path).op: required (one of \(FilterOperator.names))") }
        guard let op = FilterOperator(rawValue: opName) else {
            throw .invalid("\(path).op: unknown operator \"\(opName)\" (one of \(FilterOperator.names))")
        }
        let (resolvedOwner, keys) = try FilterValues.propertyPath(prop, path: "\(path).prop", owner: owner, allowCompany: allowCompany)
        let value = try FilterValues.checkedValue(item["value"], op: op, path: "\(path).value")
        return PropertyTest(owner: resolvedOwner, path: keys, op: op, value: value)
    }

    static func event(_ item: JSON, path: String) throws(SegmentError) -> EventTest {
        guard case .string(let name)? = item["value"] ?? item["name"], !name.isEmpty else {
            throw .invalid("\(path).value: the event name is required")
        }
        let normalized = NameNormalizer.normalize(name)
        guard !normalized.isEmpty else { throw .invalid("\(path).value: \"\(name)\" is not a usable event name") }
        var test = EventTest(name: normalized)
        switch item["op"] {
        case nil, .null?, .string("ex")?, .string("eq")?: break
        case .string("nx")?: test.countOp = .eq; test.count = 0
        default: throw .invalid("\(path).op: an event item takes \"ex\" (did) or \"nx\" (never did)")
        }
        if item["op"]?.stringValue != "nx" {
            if let mod = item["mod"], mod != .null {
                guard case .string(let m) = mod, let op = FilterOperator(rawValue: m), FilterOperator.countOperators.contains(op) else {
                    throw .invalid("\(path).mod: must be one of eq, ne, gt, gte, lt, lte")
                }
                test.countOp = op
            }
            if let range = item["range"], range != .null {
                guard let n = FilterValues.integer(range), n >= 0 else { throw .invalid("\(path).range: must be a whole number ≥ 0") }
                test.count = n
            }
        }
        if let cond = item["cond"], cond != .null {
            guard let days = item["int"].flatMap(FilterValues.number), days >= 0 else {
                throw .invalid("\(path).int: a number of days ≥ 0 is required with cond")
            }
            switch cond {
            case .string("gt-d"): test.window = .newerThan(days: days)
            case .string("lt-d"): test.window = .olderThan(days: days)
            default: throw .invalid("\(path).cond: must be \"gt-d\" (within the last N days) or \"lt-d\" (more than N days ago)")
            }
        }
        if let filters = item["filters"], filters != .null {
            guard case .array(let elements) = filters else { throw .invalid("\(path).filters: must be an array of property items") }
            for (i, element) in elements.enumerated() {
                let p = "\(path).filters[\(i)]"
                guard case .object = element else { throw .invalid("\(p): must be an object") }
                if let kind = element["kind"]?.stringValue, kind != "property" {
                    throw .invalid("\(p).kind: an event's filters are property items")
                }
                test.filters.append(try property(element, path: p, allowCompany: false, owner: .event))
            }
        }
        return test
    }
}
