import Foundation

/// A small, fast, seedable generator (xoshiro256**, seeded through SplitMix64): the same seed gives the
/// same sequence on every run and machine, which `trove generate` needs for byte-identical files.
/// Not for secrets.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in 0..<n (n > 0), without modulo bias worth caring about at these sizes.
    public mutating func below(_ n: Int) -> Int { Int(next().multipliedFullWidth(by: UInt64(n)).high) }

    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// A standard normal deviate (Box–Muller; one of the pair is dropped to keep the state simple).
    public mutating func normal() -> Double {
        let u = 1 - unit()  // (0, 1]
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * unit())
    }

    /// Lognormal with the given median and shape (sigma of the underlying normal).
    public mutating func lognormal(median: Double, sigma: Double) -> Double {
        median * exp(sigma * normal())
    }
}

/// Picks from a fixed list with fixed weights in O(log n).
public struct WeightedChoice<Element: Sendable>: Sendable {
    public let elements: [Element]
    private let cumulative: [Double]

    public init(_ pairs: [(Element, Double)]) {
        elements = pairs.map(\.0)
        var sum = 0.0
        cumulative = pairs.map { sum += $0.1; return sum }
    }

    public func index(using random: inout SeededRandom) -> Int {
        let target = random.unit() * cumulative[cumulative.count - 1]
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] > target { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    public func pick(using random: inout SeededRandom) -> Element { elements[index(using: &random)] }
}
