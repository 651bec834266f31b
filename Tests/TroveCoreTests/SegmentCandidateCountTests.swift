import Testing
@testable import TroveCore

/// How the compiler counts a segment's candidates to choose between one seek per candidate and one pass over
/// the name's index: the conditions the composite index answers alone first (an upper bound), every
/// condition (the company lookup included) only when that bound does not already decide.
struct SegmentCandidateCountTests {
    /// The reference segment's shape; its event name has 800 events, so the count stops at 800 / 8 + 1.
    let filter = #"""
        {"items":[{"prop":"upsell_readiness_score","op":"gte","value":80},{"prop":"plan","op":"eq","value":"pro"},
          {"prop":"company.employees","op":"gt","value":50},
          {"kind":"event","value":"Completed Tour (Chameleon)","mod":"gte","range":2,"cond":"gt-d","int":30}]}
        """#

    final class Counts {
        var calls: [(sql: String, limit: Int64)] = []
    }

    /// Compiles the filter with `answer(withCompany)` as each count's result.
    func compile(_ answer: @escaping (_ withCompany: Bool) -> Int64) throws -> (SegmentCompiler.Output, [(sql: String, limit: Int64)]) {
        let counts = Counts()
        let compiler = SegmentCompiler(
            account: 1, now: Timestamp(milliseconds: 1_772_323_200_000), dialect: SQLiteDialect(), resolve: { _ in nil },
            eventName: { _ in SegmentCompiler.EventName(id: 7, indexed: true, events: 800) },
            candidates: { condition, limit, _ in
                let withCompany = condition.sql.contains("companies")
                counts.calls.append((condition.sql, limit))
                return min(answer(withCompany), limit)
            })
        let output = try compiler.compile(try ChameleonFilter.parse(try JSONParser.parse(Array(filter.utf8))))
        return (output, counts.calls)
    }

    @Test func aBoundUnderTheLimitDecidesWithoutTheCompanyLookup() throws {
        let (output, calls) = try compile { withCompany in withCompany ? 20 : 60 }
        #expect(calls.count == 1 && !calls[0].sql.contains("companies") && calls[0].limit == 101, "\(calls)")
        #expect(output.candidatesFirst != nil, "60 candidates at most: one seek each")
    }

    @Test func aBoundAtTheLimitIsFollowedByTheExactCount() throws {
        let (few, fewCalls) = try compile { withCompany in withCompany ? 20 : 5_000 }
        #expect(fewCalls.count == 2 && fewCalls[1].sql.contains("companies"), "\(fewCalls)")
        #expect(few.candidatesFirst != nil, "20 candidates: one seek each")

        let (many, manyCalls) = try compile { _ in 5_000 }
        #expect(manyCalls.count == 2, "\(manyCalls)")
        #expect(many.candidatesFirst == nil && many.condition.sql.contains("GROUP BY e.profile_id"), "many candidates: one pass over the name's index")
    }
}
