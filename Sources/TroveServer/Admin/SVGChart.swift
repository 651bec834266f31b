/// Inline SVG charts for the admin UI (no scripts, no external assets): lines over time and horizontal
/// bars. Each point or bar has a `<title>`, so hovering shows its value.
enum SVGChart {
    static let colors = ["#4b5cd6", "#e67e22", "#16a085", "#c0392b", "#8e44ad", "#2c3e50", "#d4ac0d", "#7f8c8d"]

    /// Round axis maximum: 1, 2 or 5 × a power of ten at or above `value`.
    static func niceMax(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        var step = 1.0
        while step * 10 <= value { step *= 10 }
        for m in [1.0, 2.0, 5.0, 10.0] where m * step >= value { return m * step }
        return 10 * step
    }

    static func label(_ v: Double) -> String {
        if v >= 1_000_000 { return "\(Int(v / 1_000_000))M" }
        if v >= 10_000 { return "\(Int(v / 1000))k" }
        return v == v.rounded() ? String(Int(v)) : String(v)
    }

    /// One line per series over shared x labels (dates), with a legend.
    static func lines(_ series: [(name: String, values: [Double])], labels: [String], height: Int = 240) -> Markup {
        let width = 760, left = 56, right = 24, top = 12, bottom = 28
        let plotW = Double(width - left - right), plotH = Double(height - top - bottom)
        let maxValue = niceMax(series.flatMap(\.values).max() ?? 0)
        let n = max(labels.count, 1)
        func x(_ i: Int) -> Double { Double(left) + (n == 1 ? plotW / 2 : plotW * Double(i) / Double(n - 1)) }
        func y(_ v: Double) -> Double { Double(top) + plotH * (1 - v / maxValue) }
        var svg: Markup = "<svg viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\" font-family=\"system-ui,sans-serif\">"
        for k in 0...4 {
            let v = maxValue * Double(k) / 4
            svg += "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(f(y(v)))\" y2=\"\(f(y(v)))\" stroke=\"#e4e7ec\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(f(y(v) + 4))\" text-anchor=\"end\" fill=\"#667085\">\(label(v))</text>"
        }
        let every = max(1, n / 8)
        for (i, l) in labels.enumerated() where i % every == 0 || i == n - 1 {
            svg += "<text x=\"\(f(x(i)))\" y=\"\(height - 8)\" text-anchor=\"middle\" fill=\"#667085\">\(l)</text>"
        }
        for (s, line) in series.enumerated() {
            let color = colors[s % colors.count]
            let points = line.values.enumerated().map { "\(f(x($0.offset))),\(f(y($0.element)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points)\"/>"
            for (i, v) in line.values.enumerated() {
                svg += "<circle cx=\"\(f(x(i)))\" cy=\"\(f(y(v)))\" r=\"2.5\" fill=\"\(color)\"><title>\(line.name) · \(i < labels.count ? labels[i] : ""): \(label(v))</title></circle>"
            }
        }
        svg += "</svg><div class=\"legend\">"
        for (s, line) in series.enumerated() { svg += "<span><i style=\"background:\(colors[s % colors.count])\"></i>\(line.name)</span>" }
        return svg + "</div>"
    }

    /// Horizontal bars, one per (label, value), each with its value written at its end.
    static func bars(_ items: [(label: String, value: Double, note: String)]) -> Markup {
        let width = 760, labelW = 220, barH = 26, gap = 8
        let height = max(1, items.count) * (barH + gap) + gap
        let maxValue = max(items.map(\.value).max() ?? 0, 1)
        let plotW = Double(width - labelW - 150)
        var svg: Markup = "<svg viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"bars\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\" font-family=\"system-ui,sans-serif\">"
        for (i, item) in items.enumerated() {
            let y = gap + i * (barH + gap)
            let w = plotW * item.value / maxValue
            svg += "<text x=\"\(labelW - 8)\" y=\"\(y + barH / 2 + 4)\" text-anchor=\"end\" fill=\"#1d2330\">\(String(item.label.prefix(32)))</text>"
            svg += "<rect x=\"\(labelW)\" y=\"\(y)\" width=\"\(f(max(w, 1)))\" height=\"\(barH)\" rx=\"3\" fill=\"\(colors[0])\"><title>\(item.label): \(label(item.value))</title></rect>"
            svg += "<text x=\"\(f(Double(labelW) + max(w, 1) + 6))\" y=\"\(y + barH / 2 + 4)\" fill=\"#667085\">\(label(item.value) + (item.note.isEmpty ? "" : " · " + item.note))</text>"
        }
        return svg + "</svg>"
    }

    static func f(_ v: Double) -> String { String((v * 10).rounded() / 10) }
}
