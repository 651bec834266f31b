import Testing
@testable import TroveCore

/// The candidates' id set (`CandidateList`): bits over dense ids, a hash set over sparse ones; either way the
/// same membership and the same ascending order, each id once.
struct IDSetTests {
    func check(_ ids: [Int64], probes: [Int64]) {
        let set = IDSet(ids)
        #expect(set.sorted == Array(Set(ids)).sorted(), "\(ids.count) ids")
        for probe in probes {
            #expect(set.contains(probe) == ids.contains(probe), "\(probe)")
        }
    }

    @Test func denseIDsAsBits() {
        let ids: [Int64] = [70, 5, 64, 63, 5, 128, 1_000, 999, 6]
        check(ids, probes: [0, 4, 5, 6, 7, 63, 64, 65, 127, 128, 129, 998, 999, 1_000, 1_001, -1, .min, .max])
    }

    @Test func sparseIDsHashed() {
        let probes: [Int64] = [0, 1, 2, 1 << 40, (1 << 40) + 1, .max, .max - 1, .min, -7, -6]
        check([1, 1 << 40, 1 << 40], probes: probes)
        check([1, 1 << 40, .max, .min, -7], probes: probes)  // a span past Int64
    }

    @Test func noIDs() {
        check([], probes: [0, 1, -1, .max, .min])
    }
}
