import TroveCore

/// Batch reports (`/v1/reports`, contract §11).
extension AppAPIJSON {
    static func rate(_ value: Double?) -> JSON { value.map(JSON.double) ?? .null }

    public static func events(_ r: EventReport.Result) -> JSON {
        let ats = r.buckets.map { JSON.string(r.label($0)) }
        return .object([
            JSONMember("interval", .string(r.interval.rawValue)),
            JSONMember("tz", .string(r.zoneName)),
            JSONMember("from", .string(r.label(r.buckets.first ?? r.end))),
            JSONMember("to", .string(r.label(r.end))),
            JSONMember("series", .array(r.series.map { s in
                .object([
                    JSONMember("name", .string(s.name)),
                    JSONMember("uid", .string(s.uid)),
                    JSONMember("total", .int(s.total)),
                    JSONMember("points", .array(zip(ats, s.counts).map { at, n in .object([JSONMember("at", at), JSONMember("count", .int(n))]) })),
                ])
            })),
        ])
    }

    public static func funnel(_ r: FunnelReport.Result) -> JSON {
        func group(_ g: FunnelReport.Result.Group, withValue: Bool) -> JSON {
            .object((withValue ? [JSONMember("value", g.value)] : []) + [
                JSONMember("entered", .int(g.entered)),
                JSONMember("converted", .int(g.converted)),
                JSONMember("conversion", rate(g.conversion)),
                JSONMember("steps", .array(g.reached.indices.map { s in
                    .object([
                        JSONMember("name", .string(r.steps[s].name)),
                        JSONMember("uid", .string(r.steps[s].uid)),
                        JSONMember("profiles", .int(g.reached[s])),
                        JSONMember("conversion", rate(g.conversion(step: s))),
                        JSONMember("from_previous", rate(g.fromPrevious(step: s))),
                    ])
                })),
            ])
        }
        let utc = { (t: Timestamp) in String(t.iso8601.prefix(19)) + "Z" }
        var members = [
            JSONMember("steps", .array(r.steps.map { .object([JSONMember("name", .string($0.name)), JSONMember("uid", .string($0.uid))]) })),
            JSONMember("group_by", r.groupBy.map { .string($0.description) } ?? .null),
            JSONMember("within_days", .int(r.withinDays)),
            JSONMember("from", .string(utc(r.from))),
            JSONMember("to", .string(utc(r.to))),
            JSONMember("total", group(r.total, withValue: false)),
        ]
        if let groups = r.groups {
            members.append(JSONMember("groups", .array(groups.map { group($0, withValue: true) })))
            members.append(JSONMember("groups_not_shown", .int(r.groupsNotShown)))
        }
        return .object(members)
    }

    public static func messages(_ r: MessageReport.Result) -> JSON {
        .object([
            JSONMember("message", .object([JSONMember(r.field, .int(r.id))])),
            JSONMember("metrics", .array(r.metrics.map { m in
                .object([JSONMember("metric", .string(m.metric)), JSONMember("events", .int(m.events)), JSONMember("people", .int(m.people))])
            })),
            JSONMember("rates", .object(r.rates.map { JSONMember($0.name, rate($0.value)) })),
        ])
    }

    public static func segmentHistory(_ r: SegmentHistory.Result) -> JSON {
        .object([
            JSONMember("segment", .object([JSONMember("id", .int(r.segmentID)), JSONMember("name", .string(r.segmentName))])),
            JSONMember("points", .array(r.days.map { d in
                .object([
                    JSONMember("date", .string(d.date)),
                    JSONMember("count", .int(d.count)),
                    JSONMember("entered", .int(d.entered)),
                    JSONMember("exited", .int(d.exited)),
                ])
            })),
        ])
    }
}
