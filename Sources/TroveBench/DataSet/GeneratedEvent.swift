import TroveCore

/// One generated event, small enough that ten million of them sort in memory; written as the hook's
/// event object.
struct GeneratedEvent {
    var timestamp: Int64
    var profile: UInt32
    var name: UInt8
    var detail: UInt16

    /// Appends `{"uid":…,"name":…,"timestamp":…,<detail>}`; `messageID`, when given, adds `"message_id"`.
    func appendJSON(to out: inout [UInt8], messageID: (prefix: StaticString, number: Int)? = nil) {
        out.append("{\"uid\":\"user-"); out.appendDecimal(Int(profile) + 1)
        out.append("\",\"name\":\""); out.append(contentsOf: Vocabulary.eventNames[Int(name)].utf8)
        out.append("\",\"timestamp\":\""); out.append(contentsOf: Timestamp(milliseconds: timestamp).iso8601.utf8)
        out.append("\"")
        if let messageID {
            out.append(",\"message_id\":\""); out.append(messageID.prefix); out.appendDecimal(messageID.number)
            out.append("\"")
        }
        appendDetail(to: &out, separator: ",")
        out.append("}")
    }

    /// The same event as a Segment `track` message, as analytics-python sends one (its library context
    /// included): `{"type":"track","userId":…,"event":…,"properties":{<detail>},"timestamp":…,"messageId":…,"context":…}`.
    func appendSegmentJSON(to out: inout [UInt8], messageID: (prefix: StaticString, number: Int)) {
        out.append("{\"type\":\"track\",\"userId\":\"user-"); out.appendDecimal(Int(profile) + 1)
        out.append("\",\"event\":\""); out.append(contentsOf: Vocabulary.eventNames[Int(name)].utf8)
        out.append("\",\"properties\":{")
        appendDetail(to: &out, separator: "")
        out.append("},\"timestamp\":\""); out.append(contentsOf: Timestamp(milliseconds: timestamp).iso8601.utf8)
        out.append("\",\"messageId\":\""); out.append(messageID.prefix); out.appendDecimal(messageID.number)
        out.append("\",\"integrations\":{},\"context\":{\"library\":{\"name\":\"analytics-python\",\"version\":\"2.4.0\"}}}")
    }

    /// The event's one detail property, `"key":value` after `separator` (none for events without one).
    private func appendDetail(to out: inout [UInt8], separator: StaticString) {
        let d = Int(detail)
        let detail = Vocabulary.detail(ofEvent: Int(name))
        if case .none = detail { return }
        out.append(separator)
        switch detail {
        case .none: break
        case .tourID: out.append("\"tour_id\":\"tour-"); out.appendDecimal(d); out.append("\"")
        case .path: out.append("\"path\":\""); out.append(contentsOf: Vocabulary.paths[d].utf8); out.append("\"")
        case .button: out.append("\"button\":\""); out.append(contentsOf: Vocabulary.buttons[d].utf8); out.append("\"")
        case .queryLength: out.append("\"query_length\":"); out.appendDecimal(d)
        case .articleID: out.append("\"article_id\":"); out.appendDecimal(d)
        case .integration:
            out.append("\"provider\":\""); out.append(contentsOf: Vocabulary.integrations[d].utf8); out.append("\"")
        case .plan: out.append("\"plan\":\""); out.append(contentsOf: Vocabulary.plans[d].utf8); out.append("\"")
        }
    }

    /// A single event of any kind for a random one of `profiles`, at a random time in the span.
    static func random(profiles: Int, start: Int64, span: Int, random: inout SeededRandom) -> GeneratedEvent {
        let name = random.chance(0.2) ? random.below(Vocabulary.tourNames.count) : Vocabulary.otherEventChoice.pick(using: &random)
        return GeneratedEvent(
            timestamp: start + Int64(random.below(span)), profile: UInt32(random.below(profiles)), name: UInt8(name),
            detail: detail(for: name, random: &random))
    }

    static func detail(for name: Int, random: inout SeededRandom) -> UInt16 {
        switch Vocabulary.detail(ofEvent: name) {
        case .none: return 0
        case .tourID: return UInt16(Vocabulary.tours.pick(using: &random))
        case .path: return UInt16(Vocabulary.pathChoice.pick(using: &random))
        case .button: return UInt16(random.below(Vocabulary.buttons.count))
        case .queryLength: return UInt16(1 + random.below(40))
        case .articleID: return UInt16(1 + random.below(300))
        case .integration: return UInt16(random.below(Vocabulary.integrations.count))
        case .plan: return UInt16(1 + random.below(3))
        }
    }
}
