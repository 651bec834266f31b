/// Ids as a `bigint[]` literal spliced into a statement built as text: ids only, read from the database,
/// never input.
enum BigintArray {
    static func literal(_ ids: [Int64]) -> String { "'{\(ids.map(String.init).joined(separator: ","))}'::bigint[]" }
}
