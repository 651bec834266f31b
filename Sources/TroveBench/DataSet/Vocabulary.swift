/// The words the reference data set is made of (contract §12). Weights are relative.
enum Vocabulary {
    static let plans = ["free", "starter", "pro", "enterprise"]
    static let companyPlan = WeightedChoice([(0, 0.35), (1, 0.30), (2, 0.25), (3, 0.10)])
    static let lonePlan = WeightedChoice([(0, 0.70), (1, 0.30)])
    static let proPlan = 2

    static let industries = WeightedChoice([
        ("software", 0.30), ("fintech", 0.12), ("healthcare", 0.10), ("ecommerce", 0.12), ("education", 0.08),
        ("media", 0.07), ("manufacturing", 0.08), ("consulting", 0.07), ("logistics", 0.06),
    ])
    static let countries = WeightedChoice([
        ("US", 0.40), ("GB", 0.10), ("DE", 0.10), ("FR", 0.07), ("CA", 0.06), ("IN", 0.06), ("BR", 0.05),
        ("AU", 0.05), ("NL", 0.04), ("ES", 0.04), ("JP", 0.03),
    ])
    static let languages = WeightedChoice([
        ("en", 0.60), ("de", 0.10), ("fr", 0.08), ("es", 0.08), ("pt", 0.06), ("ja", 0.04), ("nl", 0.04),
    ])
    static let roles = WeightedChoice([("admin", 0.15), ("member", 0.70), ("viewer", 0.15)])
    static let companyWords = [
        "Acme", "Northwind", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell",
        "Cyberdyne", "Soylent", "Wonka", "Aperture", "Gringotts", "Pied Piper", "Dunder", "Monarch", "Oscorp", "Blue Sun",
    ]
    static let companySuffixes = ["Inc", "Labs", "GmbH", "Ltd", "Group", "Systems", "Co", "Studio"]
    static let firstNames = [
        "Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Edsger", "Radia", "Tim",
        "Sophie", "John", "Hedy", "Donald", "Katherine", "Guido", "Anita", "Bjarne",
    ]
    static let lastNames = [
        "Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen", "Dijkstra",
        "Perlman", "Berners-Lee", "Wilson", "McCarthy", "Lamarr", "Knuth", "Johnson", "van Rossum", "Borg", "Stroustrup",
    ]

    /// Event names: the three tour events first (generated as sessions), then the rest with weights.
    static let startedTour = 0
    static let completedTour = 1
    static let exitedTour = 2
    static let tourNames = ["Started Tour (Chameleon)", "Completed Tour (Chameleon)", "Exited Tour (Chameleon)"]
    static let otherEvents: [(name: String, detail: EventDetail, weight: Double)] = [
        ("Viewed Page", .path, 30), ("Clicked Button", .button, 12), ("Signed In", .none, 8),
        ("Searched", .queryLength, 6), ("Viewed Dashboard", .none, 6), ("Updated Project", .none, 4),
        ("Created Project", .none, 3), ("Commented", .none, 3), ("Sent Message", .none, 3),
        ("Exported Report", .none, 2), ("Created Report", .none, 2), ("Uploaded File", .none, 2),
        ("Opened Settings", .none, 2), ("Viewed Help Article", .articleID, 2), ("Signed Out", .none, 2),
        ("Invited Teammate", .none, 1.5), ("Shared Dashboard", .none, 1.5), ("Updated Profile", .none, 1),
        ("Clicked Launcher (Chameleon)", .none, 1), ("Viewed Microsurvey (Chameleon)", .none, 1),
        ("Viewed Billing", .none, 0.8), ("Connected Integration", .integration, 0.7),
        ("Completed Survey (Chameleon)", .none, 0.5), ("Deleted Project", .none, 0.5), ("Archived Project", .none, 0.5),
        ("Started Trial", .none, 0.2), ("Upgraded Plan", .plan, 0.2), ("Downgraded Plan", .plan, 0.1),
    ]
    static let eventNames = tourNames + otherEvents.map(\.name)
    static let otherEventChoice = WeightedChoice(otherEvents.indices.map { ($0 + tourNames.count, otherEvents[$0].weight) })
    static func detail(ofEvent index: Int) -> EventDetail {
        index < tourNames.count ? .tourID : otherEvents[index - tourNames.count].detail
    }

    /// Tours: a few popular ones (onboarding) and a long tail.
    static let tours = WeightedChoice((1...40).map { ($0, 1.0 / Double($0)) })
    static let paths = [
        "/dashboard", "/projects", "/projects/new", "/reports", "/settings", "/settings/billing", "/team", "/inbox",
        "/integrations", "/help", "/search", "/profile",
    ]
    static let pathChoice = WeightedChoice(paths.indices.map { ($0, 1.0 / Double($0 + 1)) })
    static let buttons = ["save", "share", "export", "invite", "upgrade", "filter", "new_project", "help"]
    static let integrations = ["slack", "salesforce", "hubspot", "segment", "zapier", "github"]
}

/// The one extra property an event carries, decided by its name.
enum EventDetail: Sendable {
    case none, tourID, path, button, queryLength, articleID, integration, plan
}
