/// A horizontal bar chart as inline SVG, drawn on the server: it prints, needs no script, and
/// comes with the same figures as a table for screen readers (`table`). Bars are sized by integer
/// arithmetic; no figure is computed here, each is a report's own.
struct BarChart {
    struct Bar {
        let label: String
        let value: Int64
        /// The rounded figure shown beside the bar, and the exact integer (its `<title>`).
        let shown: String
        let exact: String
    }

    let id: String
    let title: String
    let bars: [Bar]

    static let width = 640
    static let labelWidth = 170
    static let valueWidth = 130
    static let barHeight = 22
    static let gap = 8

    /// The SVG, with a title and description for assistive technology; every text is escaped.
    var svg: String {
        let height = max(1, bars.count) * (Self.barHeight + Self.gap) + Self.gap
        let track = Self.width - Self.labelWidth - Self.valueWidth
        let largest = bars.map { max(0, $0.value) }.max() ?? 0
        var out = """
            <svg class="chart" id="\(HTML.escape(id))" role="img" aria-labelledby="\(HTML.escape(id))-title" viewBox="0 0 \(Self.width) \(height)" \
            width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg"><title id="\(HTML.escape(id))-title">\(HTML.escape(title))</title>
            """
        for (index, bar) in bars.enumerated() {
            let y = Self.gap + index * (Self.barHeight + Self.gap)
            // Integer scaling: a bar is value/largest of the track, at least 1 px when non-zero.
            let length = largest == 0 ? 0 : max(bar.value > 0 ? 1 : 0, Int(largest.dividingFullWidth(max(0, bar.value).multipliedFullWidth(by: Int64(track))).quotient))
            out += """
                <g><title>\(HTML.escape(bar.label)): \(HTML.escape(bar.exact))</title>\
                <text x="0" y="\(y + 16)" class="chart-label">\(HTML.escape(bar.label))</text>\
                <rect x="\(Self.labelWidth)" y="\(y)" width="\(length)" height="\(Self.barHeight)" class="chart-bar"></rect>\
                <text x="\(Self.labelWidth + length + 6)" y="\(y + 16)" class="chart-value">\(HTML.escape(bar.shown))</text></g>
                """
        }
        return out + "</svg>"
    }

    /// The chart's figures as a table (caption, label, rounded and exact value).
    func table(labelHeading: String, valueHeading: String, exactHeading: String) -> String {
        var out = "<table class=\"chart-table\"><caption>\(HTML.escape(title))</caption><thead><tr><th scope=\"col\">\(HTML.escape(labelHeading))</th>"
            + "<th scope=\"col\">\(HTML.escape(valueHeading))</th><th scope=\"col\">\(HTML.escape(exactHeading))</th></tr></thead><tbody>"
        for bar in bars {
            out += "<tr><th scope=\"row\">\(HTML.escape(bar.label))</th><td>\(HTML.escape(bar.shown))</td><td class=\"num\">\(HTML.escape(bar.exact))</td></tr>"
        }
        return out + "</tbody></table>"
    }
}

/// HTML text escaping for markup the console builds in Swift (charts, decoded bodies).
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
