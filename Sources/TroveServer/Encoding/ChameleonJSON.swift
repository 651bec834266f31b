import TroveCore

/// The `/v3` family's JSON (Chameleon's shapes, contract §3–§6, §10): every reply body of the family is built
/// here from the core's typed results (public for the CLI's `--json` output, which prints the same shapes).
public enum ChameleonJSON {
    static func created(_ model: Model, id: Int64) -> JSON {
        .object([JSONMember(model.rawValue, ["id": .string(PublicID.encode(id))])])
    }

    static func batch(_ outcome: BatchOutcome) -> JSON {
        .object([
            JSONMember("batch", ["id": .string(outcome.id), "accepted": .int(Int64(outcome.accepted)), "skipped": .int(Int64(outcome.skipped))]),
            JSONMember("errors", .array(outcome.errors.map { e in
                ["code": .int(Int64(e.error.httpStatus.code)), "index": .int(Int64(e.index)), "message": .string(e.error.description)]
            })),
        ])
    }
}
