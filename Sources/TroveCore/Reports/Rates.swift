/// A report's rate: n ÷ of, to 4 decimals, or nil when there is nothing to divide by.
public func reportRate<N: BinaryInteger>(_ n: N, _ of: N) -> Double? {
    of == 0 ? nil : (Double(n) / Double(of) * 10_000).rounded() / 10_000
}
