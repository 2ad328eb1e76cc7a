import Ledger
import Rescue

/// A till's side of the webhook (FORMAT §7.15): a delivery in its vendor's JSON shape and the
/// signature header over it. The demo, the benchmark and the tests post what a till would.
public enum TillWebhook {
    /// The header's name.
    public static let headerName = WebhookSignature.headerName

    /// `delivery` as its vendor's body, with the personal data real tills include (a cashier,
    /// a customer's phone), which the service must never read into the ledger.
    public static func body(_ delivery: TillDelivery) -> [UInt8] {
        let items: [JSONValue]
        let root: [String: JSONValue]
        switch delivery.vendor {
        case .canonical:
            items = delivery.lines.map {
                .object(["sku": .string($0.sku), "category": .string($0.category), "quantity": .integer($0.quantity), "gramsEach": .integer($0.gramsEach),
                         "priceRupiahEach": .integer($0.priceRupiahEach)])
            }
            root = ["eventId": .string(delivery.eventID), "items": .array(items)]
        case .moka:
            items = delivery.lines.map {
                .object(["item_id": .string($0.sku), "item_name": .string("Menu \($0.sku)"), "category_name": .string($0.category),
                         "stock_remaining": .integer($0.quantity), "unit_weight_gram": .integer($0.gramsEach), "price": .integer($0.priceRupiahEach)])
            }
            root = [
                "id": .string(delivery.eventID), "event": .string("inventory.end_of_day"),
                "data": .object(["items": .array(items), "cashier": .object(["name": .string("Siti Rahayu"), "phone": .string("+6281234567890")])]),
            ]
        case .majoo:
            items = delivery.lines.map {
                .object(["sku": .string($0.sku), "product_name": .string("Produk \($0.sku)"), "category": .string($0.category), "qty_left": .integer($0.quantity),
                         "weight_g": .integer($0.gramsEach), "selling_price": .integer($0.priceRupiahEach)])
            }
            root = ["event_id": .string(delivery.eventID), "type": .string("stock_closing"), "products": .array(items), "customer_phone": .string("081298765432")]
        }
        return CanonicalJSON.encode(.object(root))
    }

    /// The `Pahlawan-Signature` value for `body` at `seconds` (Unix time) under `secret`.
    public static func signature(secret: [UInt8], seconds: Int64, body: [UInt8]) -> String {
        WebhookSignature.header(secret: secret, seconds: seconds, body: body)
    }
}
