import TroveCore

/// Draws the reference data set and writes it line by line. Each model has its own random stream, so
/// changing the number of events leaves the companies and profiles of a seed unchanged.
struct DataSetGenerator {
    let seed: UInt64
    let size: ReferenceDataSet.Size
    let now: Int64

    private static let day: Int64 = 86_400_000

    // What later stages need from earlier ones.
    private var companyEmployees: [Int32] = []
    private var companyPlan: [UInt8] = []
    private var companyCountry: [UInt8] = []
    /// Profiles that pass the reference segment's property conditions.
    private var profileMatches: [Bool] = []

    init(seed: UInt64, size: ReferenceDataSet.Size, now: Int64) {
        self.seed = seed
        self.size = size
        self.now = now
    }

    private func stream(_ salt: UInt64) -> SeededRandom { SeededRandom(seed: seed ^ (salt &* 0x9E37_79B9_7F4A_7C15)) }

    // MARK: companies

    mutating func writeCompanies(to out: OutputFile) throws {
        var random = stream(1)
        for c in 0..<size.companies {
            let employees = max(1, Int(random.lognormal(median: 40, sigma: 1.2).rounded()))
            let plan = Vocabulary.companyPlan.pick(using: &random)
            let country = Vocabulary.countries.index(using: &random)
            companyEmployees.append(Int32(clamping: employees))
            companyPlan.append(UInt8(plan))
            companyCountry.append(UInt8(country))

            out.append("{\"uid\":\"company-"); out.append(c + 1)
            out.append("\",\"name\":\""); out.append(Vocabulary.companyWords[random.below(Vocabulary.companyWords.count)])
            out.append(" "); out.append(Vocabulary.companySuffixes[random.below(Vocabulary.companySuffixes.count)])
            out.append(" "); out.append(c + 1)
            out.append("\",\"employees\":"); out.append(employees)
            out.append(",\"industry\":\""); out.append(Vocabulary.industries.pick(using: &random))
            out.append("\",\"plan\":\""); out.append(Vocabulary.plans[plan])
            out.append("\",\"country\":\""); out.append(Vocabulary.countries.elements[country])
            out.append("\",\"arr\":"); out.append(Self.annualRevenue(plan: plan, employees: employees, random: &random))
            out.append(",\"founded_year\":"); out.append(1990 + random.below(35))
            out.append("}")
            try out.lineDone()
        }
    }

    private static func annualRevenue(plan: Int, employees: Int, random: inout SeededRandom) -> Int {
        let perSeat = [0, 120, 480, 1200][plan]
        let seats = max(1, Int(Double(employees) * (0.1 + 0.4 * random.unit())))
        return perSeat * seats
    }

    // MARK: profiles

    mutating func writeProfiles(to out: OutputFile) throws {
        var random = stream(2)
        // Users belong to companies in proportion to the companies' sizes.
        let companyChoice = WeightedChoice(companyEmployees.indices.map { ($0, Double(companyEmployees[$0])) })
        profileMatches.reserveCapacity(size.profiles)
        for p in 0..<size.profiles {
            let company: Int? = random.chance(0.05) ? nil : companyChoice.index(using: &random)
            let plan: Int
            if let company {
                plan = random.chance(0.85) ? Int(companyPlan[company]) : Vocabulary.companyPlan.pick(using: &random)
            } else {
                plan = Vocabulary.lonePlan.pick(using: &random)
            }
            let score = min(100, max(0, Int((50 + 25 * random.normal()).rounded())))
            let country =
                company.map { random.chance(0.8) ? Int(companyCountry[$0]) : Vocabulary.countries.index(using: &random) }
                ?? Vocabulary.countries.index(using: &random)
            profileMatches.append(
                score >= 80 && plan == Vocabulary.proPlan && company.map { companyEmployees[$0] > 50 } == true)

            out.append("{\"uid\":\"user-"); out.append(p + 1)
            out.append("\",\"email\":\"user-"); out.append(p + 1)
            if let company {
                out.append("@company-"); out.append(company + 1); out.append(".example")
                out.append("\",\"company_uid\":\"company-"); out.append(company + 1)
            } else {
                out.append("@mail.example")
            }
            out.append("\",\"name\":\""); out.append(Vocabulary.firstNames[random.below(Vocabulary.firstNames.count)])
            out.append(" "); out.append(Vocabulary.lastNames[random.below(Vocabulary.lastNames.count)])
            out.append("\",\"plan\":\""); out.append(Vocabulary.plans[plan])
            out.append("\",\"upsell_readiness_score\":"); out.append(score)
            out.append(",\"country\":\""); out.append(Vocabulary.countries.elements[country])
            out.append("\",\"signup_at\":\"")
            out.append(Timestamp(milliseconds: now - Int64(1 + random.below(730)) * Self.day + Int64(random.below(86_400)) * 1000).iso8601)
            let seats = plan < 2 ? 1 + random.below(3) : max(1, Int(random.lognormal(median: 8, sigma: 1).rounded()))
            out.append("\",\"seats\":"); out.append(seats)
            let cents = [0, 2_900, 9_900, 49_900][plan] * seats
            out.append(",\"mrr\":"); out.append(cents / 100); out.append("."); out.append(cents % 100 / 10); out.append(cents % 10)
            out.append(",\"role\":\""); out.append(Vocabulary.roles.pick(using: &random))
            out.append("\",\"onboarding_completed\":"); out.append(random.chance(0.6) ? "true" : "false")
            out.append(",\"language\":\""); out.append(Vocabulary.languages.pick(using: &random)); out.append("\"")
            if random.chance(0.4) { out.append(",\"nps\":"); out.append(random.below(11)) }
            out.append("}")
            try out.lineDone()
        }
    }

    // MARK: events

    /// Writes the events in time order and returns the reference segment's member count.
    mutating func writeEvents(to out: OutputFile) throws -> Int {
        var random = stream(3)
        let counts = Self.activity(profiles: size.profiles, events: size.events, random: &random)
        let start = now - Int64(ReferenceDataSet.spanDays) * Self.day
        let windowStart = now - Int64(ReferenceDataSet.windowDays) * Self.day
        let span = Int(now - start)
        var events: [GeneratedEvent] = []
        events.reserveCapacity(size.events)
        var members = 0

        for p in 0..<size.profiles {
            var remaining = counts[p]
            var completedInWindow = 0
            while remaining > 0 {
                var t = start + Int64(random.below(span))
                if t == windowStart { t += 1 }  // keep every event clearly inside or outside the window
                if remaining >= 2, random.chance(0.15) {
                    // A tour session: started, then completed or exited a little later, same tour_id.
                    let tour = UInt16(Vocabulary.tours.pick(using: &random))
                    var end = min(now - 1, t + 5_000 + Int64(random.below(900_000)))
                    if end == windowStart { end += 1 }
                    let outcome = random.chance(0.65) ? Vocabulary.completedTour : Vocabulary.exitedTour
                    events.append(GeneratedEvent(timestamp: t, profile: UInt32(p), name: UInt8(Vocabulary.startedTour), detail: tour))
                    events.append(GeneratedEvent(timestamp: end, profile: UInt32(p), name: UInt8(outcome), detail: tour))
                    if outcome == Vocabulary.completedTour, end > windowStart { completedInWindow += 1 }
                    remaining -= 2
                } else {
                    let name = Vocabulary.otherEventChoice.pick(using: &random)
                    events.append(
                        GeneratedEvent(timestamp: t, profile: UInt32(p), name: UInt8(name), detail: GeneratedEvent.detail(for: name, random: &random)))
                    remaining -= 1
                }
            }
            if profileMatches[p], completedInWindow >= 2 { members += 1 }
        }

        events.sort {
            ($0.timestamp, $0.profile, $0.name, $0.detail) < ($1.timestamp, $1.profile, $1.name, $1.detail)
        }
        for e in events {
            e.appendJSON(to: &out.buffer)
            try out.lineDone()
        }
        return members
    }

    /// Events per profile: lognormal weights, scaled to exactly `events` in all.
    private static func activity(profiles: Int, events: Int, random: inout SeededRandom) -> [Int] {
        let weights = (0..<profiles).map { _ in random.lognormal(median: 1, sigma: 1.3) }
        let total = weights.reduce(0, +)
        var counts = weights.map { Int(Double(events) * $0 / total) }
        var missing = events - counts.reduce(0, +)
        while missing > 0 {
            counts[random.below(profiles)] += 1
            missing -= 1
        }
        return counts
    }
}
