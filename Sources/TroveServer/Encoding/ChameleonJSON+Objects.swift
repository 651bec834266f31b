import TroveCore

/// Profiles, companies, segments and their reads (`/v3/analyze`, `/v3/edit/segments`, contract §5, §6).
extension ChameleonJSON {
    /// The fixed fields, then the properties flat.
    static func profile(_ p: ProfileRecord) -> JSON {
        .object([
            JSONMember("id", .id(p.id)),
            JSONMember("uid", .string(p.uid)),
            JSONMember("email", .string(p.email)),
            JSONMember("created_at", .time(p.createdAt)),
            JSONMember("updated_at", .time(p.updatedAt)),
            JSONMember("last_seen_at", .time(p.lastSeenAt)),
            JSONMember("company_id", p.companyID.map(JSON.id) ?? .null),
            JSONMember("disabled", .bool(p.disabled)),
        ] + p.properties)
    }

    static func profile(_ view: ProfileView) -> JSON {
        guard case .object(var members) = profile(view.profile) else { return .null }
        if let company = view.company { members.append(JSONMember("company", company.map(Self.company) ?? .null)) }
        if let segments = view.segments { members.append(JSONMember("segments", .array(segments.map(summary)))) }
        return .object(members)
    }

    static func company(_ c: CompanyRecord) -> JSON {
        .object([
            JSONMember("id", .id(c.id)),
            JSONMember("uid", .string(c.uid)),
            JSONMember("created_at", .time(c.createdAt)),
            JSONMember("updated_at", .time(c.updatedAt)),
        ] + c.properties)
    }

    static func cursor<Item>(_ page: Page<Item>) -> JSON {
        .object([JSONMember("limit", .int(page.limit)), JSONMember("before", page.before.map(JSON.id) ?? .null)])
    }

    static func profiles(_ page: Page<ProfileRecord>) -> JSON {
        .object([JSONMember("profiles", .array(page.items.map(profile))), JSONMember("cursor", cursor(page))])
    }

    static func companies(_ page: Page<CompanyRecord>) -> JSON {
        .object([JSONMember("companies", .array(page.items.map(company))), JSONMember("cursor", cursor(page))])
    }

    /// A person's timeline (`GET /v3/analyze/events`): each event with the person's uid, newest first.
    public static func timeline(_ page: TimelinePage) -> JSON {
        let uid = JSON.string(page.uid)
        let events = page.events.map { e in
            JSON.object([
                JSONMember("id", .id(e.id)),
                JSONMember("name", .string(e.name)),
                JSONMember("uid", uid),
                JSONMember("profile_id", .id(page.profileID)),
                JSONMember("timestamp", .time(e.timestamp)),
                JSONMember("properties", .object(e.properties)),
            ])
        }
        let cursor = JSON.object([JSONMember("limit", .int(page.limit)), JSONMember("before", page.before.map { .string($0.text) } ?? .null)])
        return .object([JSONMember("events", .array(events)), JSONMember("cursor", cursor)])
    }

    /// `{"profile":{"id"},"deletion":{...}}` (contract §5 forget).
    public static func erasure(_ r: ErasureReceipt) -> JSON {
        .object([JSONMember("profile", .object([JSONMember("id", .id(r.profileID))])), JSONMember("deletion", deletion(r.deletion))])
    }

    /// `{"company":{"id"},"unlinked":N,"deletion":{...}}`.
    static func erasure(_ r: CompanyErasureReceipt) -> JSON {
        .object([JSONMember("company", .object([JSONMember("id", .id(r.companyID))])), JSONMember("unlinked", .int(r.unlinked)),
                 JSONMember("deletion", deletion(r.deletion))])
    }

    /// An erasure's record: when, what kind, and counts — never who.
    public static func deletion(_ d: Deletion) -> JSON {
        .object([
            JSONMember("id", .id(d.id)),
            JSONMember("kind", .string(d.kind.rawValue)),
            JSONMember("source", .string(d.source.rawValue)),
            JSONMember("created_at", .time(d.createdAt)),
            JSONMember("completed_at", .time(d.completedAt)),
            JSONMember("counts", .object([
                JSONMember("profiles", .int(d.profiles)), JSONMember("events", .int(d.events)), JSONMember("memberships", .int(d.memberships)),
                JSONMember("ledger_rows", .int(d.ledgerRows)), JSONMember("deliveries", .int(d.deliveries)),
                JSONMember("notifications", .int(d.notifications)),
            ])),
        ])
    }

    static func deletions(_ page: Page<Deletion>) -> JSON {
        .object([JSONMember("deletions", .array(page.items.map(deletion))), JSONMember("cursor", cursor(page))])
    }

    // MARK: Segments

    /// The Chameleon grammar's form of a segment.
    public static func segment(_ s: Segment) -> JSON {
        var members: [JSONMember] = [
            JSONMember("id", .id(s.id)),
            JSONMember("name", .string(s.name)),
            JSONMember("description", .string(s.description)),
            JSONMember("kind", .string(s.kind.rawValue)),
        ]
        if let definition = s.definition {
            if s.grammar == .customerio {
                members.append(JSONMember("filters", definition))
            } else {
                members.append(JSONMember("items", definition["items"] ?? .array([])))
                members.append(JSONMember("items_op", definition["items_op"] ?? .string("and")))
            }
        }
        members += [
            JSONMember("tags", .strings(s.tags)),
            JSONMember("state", .string(s.isReady ? "ready" : "building")),
            JSONMember("computed_at", .time(s.computedAt)),
            JSONMember("member_count", .int(s.memberCount)),
            JSONMember("version", .int(s.version)),
            JSONMember("created_at", .time(s.createdAt)),
            JSONMember("updated_at", .time(s.updatedAt)),
        ]
        return .object(members)
    }

    /// `{id, name, description}`, as a profile's segment list shows each.
    static func summary(_ s: Segment) -> JSON {
        .object([JSONMember("id", .id(s.id)), JSONMember("name", .string(s.name)), JSONMember("description", .string(s.description))])
    }

    static func members(_ m: SegmentMembers) -> JSON {
        .object([
            JSONMember("profiles", .array(m.page.items.map(profile))),
            JSONMember("as_of", .time(m.asOf)),
            JSONMember("computed_at", .time(m.computedAt)),
            JSONMember("cursor", cursor(m.page)),
        ])
    }

    static func changes(_ c: LedgerPage) -> JSON {
        .object([
            JSONMember("changes", .array(c.changes.map { change in
                .object([
                    JSONMember("id", .string(String(change.id))),
                    JSONMember("profile", .object([JSONMember("id", .id(change.profileID)), JSONMember("uid", .string(change.profileUID))])),
                    JSONMember("change", .string(change.entered ? "entered" : "exited")),
                    JSONMember("at", .time(change.at)),
                    JSONMember("version", .int(change.version)),
                ])
            })),
            JSONMember("next", .string(String(c.next))),
            JSONMember("computed_at", .time(c.computedAt)),
        ])
    }

    static func preview(_ p: SegmentQueries.Preview) -> JSON {
        .object([
            JSONMember("count", .int(p.count)),
            JSONMember("sample", .strings(p.sample)),
            JSONMember("entering", .int(p.entering)),
            JSONMember("exiting", .int(p.exiting)),
        ])
    }

    public static func explanation(_ e: SegmentExplain.Explanation) -> JSON {
        .object([
            JSONMember("member", .bool(e.member)),
            JSONMember("computed_at", .time(e.computedAt)),
            JSONMember("conditions", .array(e.conditions.map { c in
                .object([
                    JSONMember("path", .string(c.path)),
                    JSONMember("kind", .string(c.kind.rawValue)),
                    JSONMember("prop", .string(c.prop)),
                    JSONMember("op", .string(c.op)),
                    JSONMember("value", c.value),
                    JSONMember("result", .bool(c.result)),
                    JSONMember("actual", .array(c.actual)),
                ])
            })),
        ])
    }

    /// A segment body `{name, description, tags, kind, items, items_op}`: the types here; the values are
    /// checked by the store.
    static func segmentChange(_ body: JSON) throws(SegmentError) -> SegmentChange {
        guard case .object = body else { throw .invalid("body: must be a JSON object") }
        var c = SegmentChange()
        switch body["name"] {
        case nil: break
        case .string(let s)?: c.name = s
        default: throw .invalid("name: must be a string")
        }
        switch body["description"] {
        case nil, .null?: break
        case .string(let s)?: c.description = s
        default: throw .invalid("description: must be a string")
        }
        switch body["tags"] {
        case nil, .null?: break
        case .array(let elements)?:
            c.tags = try elements.enumerated().map { i, e throws(SegmentError) in
                guard case .string(let s) = e else { throw .invalid("tags[\(i)]: must be a string") }
                return s
            }
        default: throw .invalid("tags: must be an array of strings")
        }
        switch body["kind"] {
        case nil, .null?: break
        case .string(let k)? where Segment.Kind(rawValue: k) != nil: c.kind = Segment.Kind(rawValue: k)
        default: throw .invalid("kind: must be \"dynamic\" or \"manual\"")
        }
        if let items = body["items"] {
            if c.kind == .manual { throw .invalid("items: a manual segment has no filter") }
            c.definition = try ChameleonDefinition(items: items, op: body["items_op"])
        }
        return c
    }
}
