import Ledger
import Rescue

/// Reads a till's webhook body in its vendor's shape (FORMAT §7.15) into the vendor's event id
/// and report lines. Only ids, category names, quantities, weights and prices are read: a
/// cashier's name or a customer's phone number elsewhere in the payload is never looked at.
enum PosAdapters {
    struct Parsed {
        var eventID: String
        var lines: [PosBook.Line]
        /// Whether the vendor's event is an end-of-day stock report (others are acknowledged and ignored).
        var isEndOfDay = true
    }

    /// Bytes of a vendor's id, SKU or category name.
    static let textBytesMax = 256

    static func parse(_ bytes: [UInt8], vendor: PosBook.Vendor) throws -> Parsed {
        let root = try Reader(value: StrictJSON.parse(bytes), path: "")
        switch vendor {
        case .canonical:
            return Parsed(eventID: try root.text("eventId"), lines: try root.list("items").compactMap { item in
                try line(sku: item.text("sku"), category: item.text("category"), quantity: item.integer("quantity"), grams: item.integer("gramsEach"),
                         price: item.integer("priceRupiahEach"))
            })
        case .moka:
            guard try root.text("event") == "inventory.end_of_day" else { return Parsed(eventID: try root.text("id"), lines: [], isEndOfDay: false) }
            let data = try root.object("data")
            return Parsed(eventID: try root.text("id"), lines: try data.list("items").compactMap { item in
                try line(sku: item.text("item_id"), category: item.text("category_name"), quantity: item.integer("stock_remaining"),
                         grams: item.integer("unit_weight_gram"), price: item.integer("price"))
            })
        case .majoo:
            guard try root.text("type") == "stock_closing" else { return Parsed(eventID: try root.text("event_id"), lines: [], isEndOfDay: false) }
            return Parsed(eventID: try root.text("event_id"), lines: try root.list("products").compactMap { item in
                try line(sku: item.text("sku"), category: item.text("category"), quantity: item.integer("qty_left"), grams: item.integer("weight_g"),
                         price: item.integer("selling_price"))
            })
        }
    }

    /// A line, or nil when nothing of it is left (a till lists every item, most sold out).
    private static func line(sku: String, category: String, quantity: Int64, grams: Int64, price: Int64) -> PosBook.Line? {
        guard quantity > 0 else { return nil }
        return PosBook.Line(skuSha256: SHA256.hash(Array(sku.utf8)).hex, vendorCategory: category, quantity: quantity, gramsEach: grams, priceRupiahEach: price)
    }

    /// A value at a path of the payload; each accessor refuses with the path of what is wrong.
    struct Reader {
        let value: StrictJSON.Value
        let path: String

        private func malformed(_ field: String, _ wanted: String) -> Problem {
            Problem(.badRequest, "posPayloadIsMalformed", "The till's payload is not its vendor's shape", detail: "\(path.isEmpty ? "" : path + ".")\(field): \(wanted)")
        }

        private func member(_ field: String) throws(Problem) -> StrictJSON.Value {
            guard case .object(let members) = value else { throw malformed(field, "expected inside an object") }
            guard let member = members[field] else { throw malformed(field, "missing") }
            return member
        }

        func object(_ field: String) throws(Problem) -> Reader {
            let member = try member(field)
            guard case .object = member else { throw malformed(field, "an object") }
            return Reader(value: member, path: path.isEmpty ? field : path + "." + field)
        }

        func list(_ field: String) throws(Problem) -> [Reader] {
            guard case .array(let items) = try member(field) else { throw malformed(field, "an array") }
            guard items.count <= PosPolicy.linesMax * 10 else { throw malformed(field, "at most \(PosPolicy.linesMax * 10) items") }
            let prefix = path.isEmpty ? field : path + "." + field
            return items.enumerated().map { Reader(value: $1, path: "\(prefix)[\($0)]") }
        }

        /// A string (or an integer id, as some tills send) of 1–256 bytes.
        func text(_ field: String) throws(Problem) -> String {
            switch try member(field) {
            case .string(let text) where (1...PosAdapters.textBytesMax).contains(text.utf8.count): return text
            case .number(let number) where number.isInteger && number.text.utf8.count <= 32: return number.text
            default: throw malformed(field, "a string of 1–\(PosAdapters.textBytesMax) bytes")
            }
        }

        /// A whole number 0…2^53 − 1 written in digits (a price of 15000.5 is refused, not rounded).
        func integer(_ field: String) throws(Problem) -> Int64 {
            guard case .number(let number) = try member(field), number.isInteger, let integer = Int64(number.text), (0...9_007_199_254_740_991).contains(integer)
            else { throw malformed(field, "a whole number 0…2^53 − 1") }
            return integer
        }
    }
}
