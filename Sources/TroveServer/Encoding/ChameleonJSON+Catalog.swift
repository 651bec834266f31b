import TroveCore

/// Data management (contract §4): warnings, the property catalog, event names.
extension ChameleonJSON {
    static func warning(_ w: CatalogWarning) -> JSON {
        .object([
            JSONMember("kind", .string(w.kind)),
            JSONMember("model", .string(w.model)),
            JSONMember("prop", .string(w.prop)),
            JSONMember("count", .int(w.count)),
            JSONMember("first_at", .time(w.firstAt)),
            JSONMember("last_at", .time(w.lastAt)),
            JSONMember("example_uid", .string(w.exampleUID)),
            JSONMember("detail", .string(w.detail)),
        ])
    }

    static func property(_ p: CatalogProperty) -> JSON {
        .object([
            JSONMember("id", .id(p.id)),
            JSONMember("name", .string(p.name)),
            JSONMember("prop", .string(p.prop)),
            JSONMember("kind", .string(p.model)),
            JSONMember("types", .strings(p.types)),
            JSONMember("values", .array(p.examples)),
            JSONMember("last_seen_at", .time(p.lastSeenAt)),
        ])
    }

    static func eventName(_ n: EventNameSummary) -> JSON {
        .object([
            JSONMember("id", .id(n.id)),
            JSONMember("name", .string(n.name)),
            JSONMember("uid", .string(n.uid)),
            JSONMember("count", .int(n.count)),
            JSONMember("last_seen_at", .time(n.lastSeenAt)),
        ])
    }
}
