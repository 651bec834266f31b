import Foundation
import HTTPTypes
import Hummingbird
import TroveCore

/// Markup for the admin UI, safe by construction: the literal text written in the source is markup, and
/// whatever is interpolated into it is escaped — a `String` always, wherever it came from; only another
/// `Markup` goes in as it is. There is no way to turn a `String` into markup without escaping it.
struct Markup: ExpressibleByStringInterpolation, Sendable {
    fileprivate(set) var html: String

    init(stringLiteral literal: String) { html = literal }

    init(stringInterpolation: StringInterpolation) { html = stringInterpolation.html }

    struct StringInterpolation: StringInterpolationProtocol {
        fileprivate var html = ""

        init(literalCapacity: Int, interpolationCount: Int) { html.reserveCapacity(literalCapacity + 16 * interpolationCount) }

        mutating func appendLiteral(_ literal: String) { html += literal }
        mutating func appendInterpolation(_ text: String) { html += Markup.escape(text) }
        mutating func appendInterpolation(_ markup: Markup) { html += markup.html }
        mutating func appendInterpolation<N: BinaryInteger>(_ number: N) { html += String(number) }
    }

    static func + (a: Markup, b: Markup) -> Markup { Markup(raw: a.html + b.html) }
    static func += (a: inout Markup, b: Markup) { a.html += b.html }

    /// Pieces of markup one after another, `separator` between them.
    static func joined(_ pieces: some Sequence<Markup>, separator: Markup = "") -> Markup {
        Markup(raw: pieces.map(\.html).joined(separator: separator.html))
    }

    fileprivate init(raw: String) { html = raw }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

/// Server-rendered HTML for the admin UI: the page frame (inline CSS, no external assets), tables and
/// form fields, all `Markup`.
enum HTML {
    /// A JSON value as a cell shows it: strings bare, null as a dash, the rest as JSON.
    static func text(_ value: JSON?) -> String {
        switch value {
        case nil, .null?: return "–"
        case .string(let s)?: return s
        case let v?: return JSONWriter.string(v)
        }
    }

    /// A value as a cell shows it, a dash when absent.
    static func text(_ value: String?) -> String { value ?? "–" }
    static func text(_ value: Int?) -> String { value.map(String.init) ?? "–" }

    static func number(_ n: Int64) -> String {
        let digits = String(abs(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// A rate as a percentage to one decimal; a dash when there is nothing to divide by.
    static func percent(_ value: Double?) -> String {
        value.map { String(format: "%.1f%%", $0 * 100) } ?? "–"
    }

    /// `<table>` in a scrolling box, so wide tables do not break a phone's layout.
    static func table(_ headers: [String], _ rows: [[Markup]], numeric: Set<Int> = [], empty: String = "Nothing yet.") -> Markup {
        guard !rows.isEmpty else { return "<p class=\"muted\">\(empty)</p>" }
        func cls(_ i: Int) -> Markup { numeric.contains(i) ? " class=\"num\"" : "" }
        var out: Markup = "<div class=\"scroll\"><table><thead><tr>"
        for (i, h) in headers.enumerated() { out += "<th\(cls(i))>\(h)</th>" }
        out += "</tr></thead><tbody>"
        for row in rows {
            out += "<tr>"
            for (i, cell) in row.enumerated() { out += "<td\(cls(i))>\(cell)</td>" }
            out += "</tr>"
        }
        return out + "</tbody></table></div>"
    }

    /// A POST form carrying the session's CSRF token.
    static func form(action: String, csrf: String, class cls: String = "", _ body: Markup) -> Markup {
        "<form method=\"post\" action=\"\(action)\" class=\"\(cls)\"><input type=\"hidden\" name=\"csrf\" value=\"\(csrf)\">\(body)</form>"
    }

    static func input(_ name: String, label: String, value: String = "", type: String = "text", placeholder: String = "", required: Bool = false) -> Markup {
        "<label>\(label)<input type=\"\(type)\" name=\"\(name)\" value=\"\(value)\" placeholder=\"\(placeholder)\"\(required ? " required" as Markup : "")></label>"
    }

    static func select(_ name: String, label: String, options: [(value: String, label: String)], selected: String) -> Markup {
        var out: Markup = "<label>\(label)<select name=\"\(name)\">"
        for o in options { out += "<option value=\"\(o.value)\"\(o.value == selected ? " selected" as Markup : "")>\(o.label)</option>" }
        return out + "</select></label>"
    }

    static let navigation: [(path: String, label: String)] = [
        ("/admin", "Overview"), ("/admin/data", "Data"), ("/admin/people", "People"), ("/admin/segments", "Segments"), ("/admin/exports", "Exports"),
        ("/admin/delivery", "Webhooks & Customer.io"), ("/admin/reports", "Reports"),
    ]

    static let style: Markup = """
        :root{--fg:#1d2330;--muted:#667085;--line:#e4e7ec;--bg:#f7f8fa;--accent:#4b5cd6;--bad:#c0392b;--good:#1e8449}
        *{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
        header{background:#fff;border-bottom:1px solid var(--line)}header .in{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center;max-width:1160px;margin:0 auto;padding:.6rem 1rem}
        header b{margin-right:.5rem}nav{display:flex;flex-wrap:wrap;gap:.2rem .9rem;flex:1}nav a{color:var(--muted);text-decoration:none;padding:.2rem 0}nav a.on{color:var(--fg);border-bottom:2px solid var(--accent)}
        main{max-width:1160px;margin:0 auto;padding:1rem}h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:1.6rem 0 .6rem}
        .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:.75rem}.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:.75rem 1rem}
        .card .v{font-size:1.5rem;font-weight:600}.card .k{color:var(--muted);font-size:.85rem}
        .box{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem;margin-bottom:1rem}
        .scroll{overflow-x:auto;background:#fff;border:1px solid var(--line);border-radius:8px}table{border-collapse:collapse;width:100%}
        th,td{text-align:left;padding:.45rem .7rem;border-bottom:1px solid var(--line);vertical-align:top}th{font-weight:600;font-size:.85rem;color:var(--muted);white-space:nowrap}
        td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}tr:last-child td{border-bottom:0}
        form{display:flex;flex-wrap:wrap;gap:.6rem;align-items:flex-end}form.stack{flex-direction:column;flex-wrap:nowrap;align-items:stretch}
        label{display:flex;flex-direction:column;font-size:.85rem;color:var(--muted);gap:.2rem}
        input,select,textarea{font:inherit;padding:.4rem .5rem;border:1px solid var(--line);border-radius:6px;background:#fff;color:var(--fg);min-width:0}
        textarea{width:100%;min-height:9rem;font-family:ui-monospace,monospace;font-size:.85rem}
        button{font:inherit;padding:.45rem .9rem;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
        button.plain{background:#fff;color:var(--accent)}a{color:var(--accent)}.muted{color:var(--muted)}
        .flash{padding:.6rem .9rem;border-radius:6px;margin-bottom:1rem;background:#eef1ff}.flash.bad{background:#fdecea;color:var(--bad)}
        .good{color:var(--good)}.bad{color:var(--bad)}code,pre{font-family:ui-monospace,monospace;font-size:.85rem}pre{white-space:pre-wrap;word-break:break-all;margin:0}
        svg{max-width:100%;height:auto;display:block}.legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:.85rem;margin:.4rem 0}
        .legend i{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.3rem;vertical-align:-1px}
        .row{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(320px,100%),1fr));gap:1rem}
        footer{max-width:1160px;margin:0 auto;padding:1rem;font-size:.85rem;color:var(--muted)}
        @media(max-width:640px){header .in{justify-content:space-between}nav{order:3;flex-basis:100%}main{padding:.75rem}}
        """

    /// The page frame: header with navigation (when signed in), a flash message, the content, and a footer
/// linking the API document.
    /// `refresh`: seconds after which the browser loads the page again (a report still being prepared).
    static func page(
        title: String, active: String?, account: String?, flash: (text: String, bad: Bool)? = nil, csrf: String? = nil, refresh: Int? = nil,
        _ body: Markup
    ) -> Markup {
        let reload: Markup = refresh.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? ""
        var out: Markup = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            \(reload)<title>\(title) · Trove</title><style>\(style)</style></head><body><header><div class="in"><b>Trove</b>
            """
        if let account {
            out += "<nav>"
            for item in navigation { out += "<a href=\"\(item.path)\"\(item.path == active ? " class=\"on\"" as Markup : "")>\(item.label)</a>" }
            out += "</nav><span class=\"muted\">\(account)</span>"
            if let csrf { out += form(action: "/admin/logout", csrf: csrf, "<button class=\"plain\" type=\"submit\">Sign out</button>") }
        }
        out += "</div></header><main><h1>\(title)</h1>"
        if let flash { out += "<div class=\"flash\(flash.bad ? " bad" as Markup : "")\">\(flash.text)</div>" }
        return out + body + "</main><footer><a href=\"/openapi.json\">API document (OpenAPI 3.1)</a></footer></body></html>"
    }

    /// Security headers every admin page carries: no scripts at all, no framing, no caching.
    static func response(_ page: Markup, status: HTTPResponse.Status = .ok, cookie: String? = nil) -> Response {
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8",
            .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            .cacheControl: "no-store",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "same-origin",
        ]
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: page.html)))
    }

    static func redirect(_ location: String, cookie: String? = nil) -> Response {
        var headers: HTTPFields = [.location: location, .cacheControl: "no-store"]
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: .seeOther, headers: headers)
    }

    /// An `application/x-www-form-urlencoded` body: `+` is a space, `%XX` a byte (but `%00`, dropped); the last value of a name wins.
    static func formFields(_ bytes: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in bytes.split(separator: UInt8(ascii: "&")) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(parts[0])
            fields[name] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    static func decode(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == UInt8(ascii: "+") {
                out.append(0x20)
            } else if b == UInt8(ascii: "%"), i + 2 < bytes.endIndex, let hi = hex(bytes[i + 1]), let lo = hex(bytes[i + 2]) {
                if hi << 4 | lo != 0 { out.append(hi << 4 | lo) }  // NUL is stored by neither engine: dropped
                i += 2
            } else {
                out.append(b)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }

    /// A time as the UI shows it: `2026-11-21 14:03 UTC`, from ISO 8601 text.
    static func time(_ value: JSON?) -> String {
        guard let text = value?.stringValue, text.count >= 16 else { return "–" }
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(5)) + " UTC"
    }

    static func time(_ t: Timestamp?) -> String { time(t.map { JSON.string($0.iso8601) }) }
}
