import Crypto
import Foundation
import GRDB

/// Signed download links (contract §7): `<public URL>/exports/<id>/file?expires=<unix s>&signature=<hex>`,
/// fetched with no credentials. The signature is HMAC-SHA256 over the export id and the expiry with a key
/// this installation made for itself (`server_keys`), so changing either, or the key, voids the link.
struct DownloadLink {
    let key: SymmetricKey

    static let keyName = "export_links"

    /// The installation's key, created on first use.
    static func load(_ db: Database) throws -> DownloadLink {
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        try db.execute(sql: "INSERT OR IGNORE INTO server_keys (name, key) VALUES (?, ?)", arguments: [keyName, fresh])
        let stored = try Data.fetchOne(db, sql: "SELECT key FROM server_keys WHERE name = ?", arguments: [keyName])!
        return DownloadLink(key: SymmetricKey(data: stored))
    }

    func signature(export id: Int64, expires: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("export:\(id):\(expires)".utf8), using: key)
        return Hex.encode(mac)
    }

    func url(base: String, export id: Int64, expires: Int64) -> String {
        "\(base)/exports/\(id)/file?expires=\(expires)&signature=\(signature(export: id, expires: expires))"
    }

    /// Whether `signature` is this key's for the id and expiry (constant time), and the expiry is not past.
    func verify(export id: Int64, expires: Int64, signature: String, now: Timestamp) throws(ExportError) {
        guard let given = Hex.decode(signature, count: 32),
              HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Data("export:\(id):\(expires)".utf8), using: key)
        else { throw .forbidden("this download link is not valid") }
        guard now.seconds < expires else { throw .forbidden("this download link has expired; ask for a new one") }
    }
}
