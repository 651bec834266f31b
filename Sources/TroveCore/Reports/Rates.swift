extension JSON {
    /// A report's rate: n ÷ of to 4 decimals, or null when there is nothing to divide by.
    static func rate<N: BinaryInteger>(_ n: N, _ of: N) -> JSON {
        of == 0 ? .null : .double((Double(n) / Double(of) * 10_000).rounded() / 10_000)
    }
}
