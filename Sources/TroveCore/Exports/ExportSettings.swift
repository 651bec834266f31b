import Foundation

/// Where export files go and how they are handed out.
public struct ExportSettings: Sendable {
    /// Export files live here, one `<id>.csv` per export (written as `.partial` and renamed when complete).
    public var directory: String
    /// The base of download links (`--public-url`), e.g. `https://trove.example.com`.
    public var publicURL: String
    /// How long a download link works (contract §7: 15 minutes).
    public var linkLifetime: Duration
    /// How long files are kept (contract §7: 7 days, configurable).
    public var retention: Duration
    /// Text cells that start like a spreadsheet formula: escaped (the default) or kept as stored.
    public var formulas: FormulaCells

    public init(
        directory: String, publicURL: String, linkLifetime: Duration = .seconds(15 * 60), retention: Duration = .seconds(7 * 86_400),
        formulas: FormulaCells = .escape
    ) {
        self.directory = directory
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.linkLifetime = linkLifetime
        self.retention = retention
        self.formulas = formulas
    }

    /// The default directory: beside the database file, named after it.
    public static func defaultDirectory(database path: String) -> String {
        path + "-exports"
    }

    public func file(_ id: Int64) -> String { (directory as NSString).appendingPathComponent("\(id).csv") }
    func partialFile(_ id: Int64) -> String { file(id) + ".partial" }
}

extension Duration {
    public var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
    /// In seconds, with the fraction.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
