import Testing
@testable import TroveCore

/// The two grammars parse into one tree, with contract §4 names and wire paths on every leaf.
@Suite struct FilterParsingTests {
    func parse(_ text: String) throws -> JSON { try JSONParser.parse(Array(text.utf8)) }

    @Test func bothGrammarsMeanTheSameTree() throws {
        let chameleon = try ChameleonFilter.parse(parse(#"{"items_op":"or","items":[{"prop":"Plan Name","op":"eq","value":"pro"},{"prop":"company.employeeCount","op":"ex"}]}"#))
        let customerIO = try CustomerIOFilter.parse(parse(#"{"or":[{"attribute":{"field":"planName","operator":"in-v","value":"pro"}},{"attribute":{"field":"company.employee_count","operator":"exists"}}]}"#))
        guard case .any(let a) = chameleon, case .any(let b) = customerIO else { Issue.record("not an any"); return }
        let tests = (a + b).flatMap(\.conditions).compactMap { c -> PropertyTest? in if case .property(let t) = c.kind { return t } else { return nil } }
        #expect(tests.map(\.displayName) == ["plan_name", "company.employee_count", "plan_name", "company.employee_count"])
        #expect(chameleon.conditions.map(\.path) == ["items[0]", "items[1]"])
        #expect(customerIO.conditions.map(\.path) == ["filters.or[0].attribute", "filters.or[1].attribute"])
    }

    /// A property path reaches SQL only as the normalizer made it: quotes and brackets in a name cannot
    /// survive into the JSON path literal, whatever the caller sent.
    @Test(arguments: [
        (#"plan'); DROP TABLE profiles; --"#, ["plan_drop_table_profiles"], #"'$."plan_drop_table_profiles"'"#),
        (#"a"b.c\'d"#, ["a_b", "c_d"], #"'$."a_b"."c_d"'"#),
        ("Plan Name.tier", ["plan_name", "tier"], #"'$."plan_name"."tier"'"#),
    ])
    func propertyPathsAreSafeByConstruction(_ name: String, _ keys: [String], _ literal: String) throws {
        let path = try #require(PropertyPath(normalizing: name.split(separator: ".", omittingEmptySubsequences: false)))
        #expect(path.keys == keys)
        #expect(path.sqlLiteral == literal)
        #expect(PropertyPath(normalizing: ["''"]) == nil && PropertyPath(normalizing: [String]()) == nil)
        let parsed = try ChameleonFilter.parse(.object([JSONMember("items", [["prop": .string(name), "op": "ex"]])]))
        guard case .property(let test)? = parsed.conditions.first?.kind else { Issue.record("not a property test"); return }
        #expect(test.path == path)
    }

    @Test(arguments: [
        (#"{"items":[{"prop":"a","op":"between","value":1}]}"#, "items[0].op: unknown operator \"between\""),
        (#"{"items":[{"prop":"a","op":"gt","value":true}]}"#, "items[0].value: \"gt\" does not compare booleans"),
        (#"{"items":[{"prop":"a","op":"gt-d","value":"soon"}]}"#, "items[0].value: \"gt-d\" takes a number of days"),
        (#"{"items":[{"kind":"event","value":"X","mod":"most"}]}"#, "items[0].mod: must be one of"),
        (#"{"items":[{"kind":"group","filters":[{"prop":"","op":"ex"}]}]}"#, "items[0].filters[0].prop: required"),
        (#"{"items":[{"kind":"segment","op":"gt","value":1}]}"#, "items[0].op: a segment item takes"),
        (#"{"items":{"prop":"a"}}"#, "items: must be an array"),
    ])
    func chameleonErrorsSayWhatAndWhere(_ body: String, _ message: String) throws {
        #expect(throws: SegmentError.self) { try ChameleonFilter.parse(parse(body)) }
        do {
            _ = try ChameleonFilter.parse(parse(body))
        } catch let error as SegmentError {
            guard case .invalid(let description) = error else { Issue.record("expected .invalid, got \(error)"); return }
            #expect(description.hasPrefix(message), "\(description)")
        }
    }

    @Test func customerIONodesNeedExactlyOneKey() throws {
        #expect(throws: SegmentError.invalid("filters: needs exactly one of and, or, not, segment, attribute")) {
            try CustomerIOFilter.parse(parse(#"{"and":[],"or":[]}"#))
        }
        #expect(throws: SegmentError.invalid("filters.not.attribute.operator: unknown operator \"like\" (eq, exists, or one of \(FilterOperator.names))")) {
            try CustomerIOFilter.parse(parse(#"{"not":{"attribute":{"field":"a","operator":"like","value":"x"}}}"#))
        }
        var deep = #"{"attribute":{"field":"a","operator":"exists"}}"#
        for _ in 0..<16 { deep = #"{"not":\#(deep)}"# }
        #expect(throws: SegmentError.malformed("filters.not.not.not.not.not.not.not.not.not.not.not.not.not.not.not.not: filters nest deeper than 16 levels")) {
            try CustomerIOFilter.parse(parse(deep))
        }
    }

    @Test func segmentIndexesGetDistinctNames() {
        let long = ["a_very_long_property_name_that_goes_on_and_on_and_on_and_on_and_on_and_on"]
        let a = SegmentIndex.profileProperties([PropertyPath(normalizing: long + ["a"])!])
        let b = SegmentIndex.profileProperties([PropertyPath(normalizing: long + ["b"])!])
        let plan = PropertyPath(normalizing: ["plan"])!, score = PropertyPath(normalizing: ["score"])!
        let names = [a, b, .profileProperties([plan]), .profileProperties([plan, score]), .profileProperties([score, plan]),
                     .profileProperties([plan], company: true), .companyProperty(plan), .eventName(7)].map(\.name)
        #expect(Set(names).count == names.count, "\(names)")
        #expect(names.allSatisfy { name in SegmentIndex.managedPrefixes.contains { name.hasPrefix($0) } })
        #expect(SegmentIndex.eventName(7).createSQL.hasSuffix("ON events(profile_id, timestamp) WHERE name_id = 7"))
        #expect(SegmentIndex.profileProperties([plan], company: true).createSQL.hasSuffix(
            #"ON profiles(account_id, disabled, json_extract(properties, '$."plan"'), company_id)"#))
    }

    @Test(arguments: [("$now", true), ("+30d", true), ("-2h", true), ("-15m", true), ("30d", false), ("+d", false), ("pro", false)])
    func relativeTimesAreRecognized(_ value: String, _ relative: Bool) {
        #expect(FilterValues.isRelativeTime(.string(value)) == relative)
    }
}
