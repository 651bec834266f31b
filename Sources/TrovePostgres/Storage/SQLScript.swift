/// A migration file as the statements in it: the extended query protocol (all postgres-nio speaks) takes
/// one statement at a time. Splits at `;` outside quotes, quoted names, dollar-quoted bodies and comments.
enum SQLScript {
    static func statements(_ script: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var chars = Array(script)
        chars.append("\n")
        var i = 0
        func flush() {
            let text = current.trimmingWhitespace()
            if !text.isEmpty { statements.append(text) }
            current = ""
        }
        while i < chars.count {
            let c = chars[i]
            switch c {
            case "-" where i + 1 < chars.count && chars[i + 1] == "-":
                while i < chars.count && chars[i] != "\n" { i += 1 }
                continue
            case "'", "\"":
                current.append(c)
                i += 1
                while i < chars.count {
                    current.append(chars[i])
                    if chars[i] == c { break }
                    i += 1
                }
            case "$":
                // $tag$ … $tag$
                var j = i + 1
                while j < chars.count, chars[j] == "_" || chars[j].isLetter || chars[j].isNumber { j += 1 }
                if j < chars.count, chars[j] == "$" {
                    let tag = String(chars[i...j])
                    current += tag
                    i = j + 1
                    while i < chars.count {
                        if chars[i] == "$", i + tag.count <= chars.count, String(chars[i..<(i + tag.count)]) == tag {
                            current += tag
                            i += tag.count - 1
                            break
                        }
                        current.append(chars[i])
                        i += 1
                    }
                } else {
                    current.append(c)
                }
            case ";":
                flush()
            default:
                current.append(c)
            }
            i += 1
        }
        flush()
        return statements
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
