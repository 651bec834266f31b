import Testing
@testable import TroveCore

@Suite struct ObjectNormalizerTests {
    let normalizer = ValueNormalizer(now: fixedNow)

    @Test func eachModelAppliesItsOwnNamesDropsTheOthersAndStoresTheEventEnvelopeOnPeople() {
        let members = ReservedName.allCases.map { JSONMember($0.text, .string($0.text)) } + [JSONMember("plan", "pro")]
        for model in Model.allCases {
            let n = normalizer.normalizeTopLevel(members, model: model)
            let applied = ReservedName.applied(for: model)
            for name in ReservedName.allCases {
                #expect((n.reserved[name] != nil) == applied.contains(name), "\(model) \(name.text)")
            }
            let dropped = Set(n.warnings.filter { $0.kind == .reserved }.map(\.prop))
            #expect(dropped == Set(ReservedName.dropped(for: model).map(\.text)))
            let stored = n.properties.map(\.key)
            switch model {
            case .event: #expect(stored == ["plan"])
            case .profile, .company: #expect(stored == ["name", "timestamp", "message_id", "plan"])
            }
        }
        #expect(ReservedName.allCases.allSatisfy { ReservedName.named($0.text) == $0 })
        #expect(ReservedName.named("uids") == nil && ReservedName.named("") == nil && ReservedName.named("chameleon_tag_idz") == nil)
    }

    @Test(arguments: [3, ValueNormalizer.scannedKeys - 1, ValueNormalizer.scannedKeys, 40])
    func laterKeysWinCollisionsWhetherScannedOrIndexed(keys: Int) {
        var members = (0..<keys).map { JSONMember("p\($0)", .int(Int64($0))) }
        members.append(JSONMember("P0", "late"))  // normalizes to p0: replaces the first
        members.append(JSONMember("p\(keys - 1)", "last"))  // the newest key, replaced again
        members.append(JSONMember("uid", "u"))
        members.append(JSONMember("UID", "v"))  // a reserved name collides too
        let n = normalizer.normalizeTopLevel(members, model: .profile)
        let expected = (1..<keys - 1).map { "p\($0)" } + ["p0", "p\(keys - 1)"]
        #expect(n.properties.map(\.key) == expected)
        #expect(n.properties.first { $0.key == "p0" }?.value == "late")
        #expect(n.properties.last?.value == "last")
        #expect(n.reserved[.uid] == "v")
        #expect(n.warnings.map(\.kind) == [.nameCollision, .nameCollision, .nameCollision])
    }

    @Test func theTrackAPIsDataKeepsReservedNamesAsPropertiesInNameOrder() throws {
        var event = try EventInput.parse(["uid": "u", "name": "Signed Up"], normalizer: normalizer, source: .track)
        try event.setData([JSONMember("timestamp", "soon"), JSONMember("plan", "pro"), JSONMember("id", 7), JSONMember("name", "x")], normalizer: normalizer)
        #expect(event.properties.map(\.key) == ["plan", "id", "name", "timestamp"])
    }
}
