import Foundation
import HTTPTypes
import Testing
@testable import TroveCore
@testable import TroveServer

/// The admin web UI (contract §11) through its routes: sign-in, the session cookie's flags, CSRF refusal,
/// pages rendering the account's numbers with data escaped, the segment editor's preview and save, sign-out
/// and rotation ending the session.
@Suite struct AdminHTTPTests {
    static func form(_ fields: [(String, String)]) -> [UInt8] {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return Array(fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&").utf8)
    }

    /// Markup is escaped by construction: text interpolated into it is escaped wherever it came from, only
    /// markup goes in as it is, and the helpers escape what they are given.
    @Test func markupEscapesWhatIsNotMarkup() {
        let hostile = "<img src=x onerror=\"alert('1')\">&"
        let escaped = "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;"
        let bold: Markup = "<b>\(hostile)</b>"
        #expect(bold.html == "<b>\(escaped)</b>")
        #expect(("<p>\(bold)</p>" as Markup).html == "<p><b>\(escaped)</b></p>", "markup inside markup is not escaped twice")
        let table = HTML.table([hostile], [["\(hostile)", bold]])
        #expect(!table.html.contains("<img") && table.html.contains("<th>\(escaped)</th>") && table.html.contains("<td><b>\(escaped)</b></td>"))
        let input = HTML.input(hostile, label: hostile, value: hostile, placeholder: hostile)
        #expect(!input.html.contains("<img") && !input.html.contains("\"alert"))
        #expect(!HTML.page(title: hostile, active: nil, account: hostile, flash: (hostile, true), "").html.contains("<img"))
    }

    @Test func signInCSRFAndTheSegmentEditor() async throws {
        let trove = try await TestTrove()
        let c = trove.credentials
        try await trove.test { app in
            for (uid, plan, score) in [("ann", "pro", 90), ("bob", "pro", 40), ("cat", "free", 95)] {
                try await app.post(app.hook("profiles"), json: ["uid": .string(uid), "plan": .string(plan), "upsell_readiness_score": .int(Int64(score))])
            }
            try await app.post(app.hook("profiles"), json: ["uid": "dan", "nickname": "<script>alert(1)</script>"])
            let formType: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

            let anonymous = try await app.send(.get, "/admin", body: nil, headers: [:])
            #expect(anonymous.status == 303 && anonymous.headers[.location] == "/admin/login")
            #expect(try await app.send(.post, "/admin/login", body: Self.form([("account_secret", "nope")]), headers: formType).status == 401)
            let signedIn = try await app.send(.post, "/admin/login", body: Self.form([("account_secret", c.accountSecret)]), headers: formType)
            #expect(signedIn.status == 303 && signedIn.headers[.location] == "/admin")
            let setCookie = try #require(signedIn.headers[.setCookie])
            for flag in ["HttpOnly", "SameSite=Strict", "Path=/admin"] { #expect(setCookie.contains(flag), "\(setCookie)") }
            #expect(!setCookie.contains("Secure"), "plain http public URL")
            let token = try #require(setCookie.split(separator: ";").first.map(String.init))
            let cookie: HTTPFields = [.cookie: token]
            #expect(try await trove.services.database.pool.read { db in
                try String.fetchAll(db, sql: "SELECT hex(token_hash) FROM admin_sessions")
            }.allSatisfy { !token.uppercased().contains($0) }, "only a digest of the token is stored")

            let overview = try await app.send(.get, "/admin", body: nil, headers: cookie)
            #expect(overview.status == 200)
            #expect(overview.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
            #expect(overview.text.contains("<div class=\"v\">4</div><div class=\"k\">profiles"))
            #expect(overview.text.contains("<a href=\"/openapi.json\">"), "every page links the API document")
            let data = try await app.send(.get, "/admin/data", body: nil, headers: cookie)
            #expect(data.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !data.text.contains("<script>alert"), "data is escaped")
            for path in ["/admin/people", "/admin/segments", "/admin/segments/new", "/admin/exports", "/admin/delivery", "/admin/reports?steps=A,B"] {
                #expect(try await app.send(.get, path, body: nil, headers: cookie).status == 200, "\(path)")
            }

            let csrf = try #require(overview.text.range(of: #"name="csrf" value="([0-9a-f]+)""#, options: .regularExpression)
                .map { String(overview.text[$0].dropFirst(#"name="csrf" value=""#.count).dropLast()) })
            let rows = [("name", "Pro upsell"), ("match", "and"), ("prop0", "plan"), ("op0", "eq"), ("value0", "pro"),
                        ("prop1", "upsell_readiness_score"), ("op1", "gte"), ("value1", "80")]
            var formAndCookie = formType
            formAndCookie[.cookie] = token
            let forged = try await app.send(.post, "/admin/segments", body: Self.form(rows + [("csrf", "0000"), ("action", "save")]), headers: formAndCookie)
            #expect(forged.status == 403)
            var crossSite = formAndCookie
            crossSite[.origin] = "https://evil.example"
            #expect(try await app.send(.post, "/admin/segments", body: Self.form(rows + [("csrf", csrf), ("action", "save")]), headers: crossSite).status == 403)
            #expect(try await trove.services.segments.list(account: 1).isEmpty, "refused forms change nothing")

            var fromPublicURL = formAndCookie
            fromPublicURL[.origin] = "http://127.0.0.1:8080"  // the public URL's origin, whatever Host the proxy sent
            let preview = try await app.send(.post, "/admin/segments", body: Self.form(rows + [("csrf", csrf), ("action", "preview")]), headers: fromPublicURL)
            #expect(preview.status == 200)
            #expect(preview.text.contains("<div class=\"v\">1</div><div class=\"k\">would match") && preview.text.contains("Sample: ann"))
            let bad = try await app.send(.post, "/admin/segments", body: Self.form([("csrf", csrf), ("name", "X"), ("items", "[{"), ("action", "save")]), headers: formAndCookie)
            #expect(bad.status == 200 && bad.text.contains("items: not valid JSON"), "a refusal re-renders the form with the reason")
            let saved = try await app.send(.post, "/admin/segments", body: Self.form(rows + [("csrf", csrf), ("action", "save")]), headers: formAndCookie)
            #expect(saved.status == 303)
            let segment = try #require(try await trove.services.segments.list(account: 1).first)
            #expect(saved.headers[.location] == "/admin/segments/\(PublicID.encode(segment.id))")
            #expect(segment.definition?["items"]?.arrayValue?.count == 2)
            try await trove.services.membership.catchUp()
            let detail = try await app.send(.get, "/admin/segments/\(PublicID.encode(segment.id))?uid=ann", body: nil, headers: cookie)
            #expect(detail.text.contains("<div class=\"v\">1</div><div class=\"k\">members") && detail.text.contains("<svg"))
            #expect(detail.text.contains("is <b class=\"good\">a member</b>"))
            #expect(detail.text.contains("href=\"/admin/people?uid=ann\""), "explain links to the person's page")

            // The person's page: from a search by uid or email, with the segments and the timeline.
            try await app.post(app.hook("profiles"), json: ["uid": "ann", "email": "ann@example.com"])
            try await app.post(app.hook("events/batch"), json: ["events": .array((0..<60).map { i in
                ["uid": "ann", "name": i % 2 == 0 ? "Clicked <b>" : "Viewed Page", "timestamp": .int(1_772_000_000 + Int64(i)), "n": .int(Int64(i))]
            })])
            for search in ["q=ann", "q=ann%40example.com"] {
                let person = try await app.send(.get, "/admin/people?\(search)", body: nil, headers: cookie)
                #expect(person.status == 200, "\(search)")
                #expect(person.text.contains("Pro upsell") && person.text.contains("Clicked &lt;b&gt;") && person.text.contains("{&quot;n&quot;:59}"), "\(search)")
                #expect(!person.text.contains("{&quot;n&quot;:9}"), "the first page is the newest 50")
                let older = try #require(person.text.range(of: #"/admin/people\?uid=ann&amp;before=[0-9.]+"#, options: .regularExpression))
                let next = try await app.send(.get, String(person.text[older]).replacingOccurrences(of: "&amp;", with: "&"), body: nil, headers: cookie)
                #expect(next.text.contains("{&quot;n&quot;:9}") && !next.text.contains("{&quot;n&quot;:10}"))
            }
            let filtered = try await app.send(.get, "/admin/people?uid=ann&name=Viewed+Page", body: nil, headers: cookie)
            #expect(filtered.text.contains("{&quot;n&quot;:59}") && !filtered.text.contains("{&quot;n&quot;:58}"))
            let missing = try await app.send(.get, "/admin/people?q=nobody", body: nil, headers: cookie)
            #expect(missing.status == 200 && missing.text.contains("no profile with uid"))

            // Sign-out ends the session; so does rotating the account's credentials.
            let out = try await app.send(.post, "/admin/logout", body: Self.form([("csrf", csrf)]), headers: formAndCookie)
            #expect(out.status == 303 && out.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(try await app.send(.get, "/admin", body: nil, headers: cookie).status == 303)
            let again = try await app.send(.post, "/admin/login", body: Self.form([("account_secret", c.accountSecret)]), headers: formType)
            let second: HTTPFields = [.cookie: try #require(again.headers[.setCookie]?.split(separator: ";").first.map(String.init))]
            #expect(try await app.send(.get, "/admin", body: nil, headers: second).status == 200)
            _ = try await trove.services.accounts.rotate(name: "default")
            #expect(try await app.send(.get, "/admin", body: nil, headers: second).status == 303)
        }
    }
}
