import Testing
@testable import TroveCore

@Suite struct NameNormalizerTests {
    @Test(arguments: [
        ("planName", "plan_name"),
        ("UserRole", "user_role"),
        ("userID", "user_id"),
        ("XMLHttpRequest", "xml_http_request"),
        ("ImporteD leads", "imported_leads"),
        ("user-role", "user_role"),
        ("user role", "user_role"),
        ("Feature Announcements!", "feature_announcements"),
        ("Completed Tour (Chameleon)", "completed_tour_chameleon"),
        ("plan_name", "plan_name"),
        ("__a__b__", "a_b"),
        ("version2Beta", "version2_beta"),
        ("Ärger Über", "ärger_über"),
        ("Cafe\u{0301}Name", "café_name"),  // NFC first: e + combining acute is one letter
        ("日本語 キー", "日本語_キー"),
        ("!!!", ""),
        ("", ""),
    ])
    func normalizes(_ input: String, _ expected: String) {
        #expect(NameNormalizer.normalize(input) == expected)
    }
}
