import Crypto
import Foundation

/// Signed download links (contract §7): `<public URL>/exports/<id>/file?expires=<unix s>&signature=<hex>`,
/// fetched with no credentials. The signature is HMAC-SHA256 over the export id and the expiry with a key
/// this installation made for itself (kept by the engine: `ExportStore.downloadLinkKey`), so changing either, or the key, voids the link.
public struct DownloadLink {
    let key: SymmetricKey

    public static let keyName = "export_links"

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
