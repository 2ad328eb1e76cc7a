import Core
import Hummingbird
import Ledger
import Rescue

/// Devices and their signed freshness scans over HTTP (FORMAT §7.14): a provider or courier
/// registers a phone's public key, the phone's scans are verified and attested, and a device is
/// revoked for ever when lost.
extension Service {
    func addEvidenceRoutes(_ routes: RouteBuilder) {
        let loop = loop
        let access = settings.access
        routes.write(.post, "/v1/devices", .needs(.devicesManage), status: .created) { bytes, context in
            let body = try RequestBodies.decode(bytes, as: DeviceBody.self)
            try body.check()
            let caller = try context.requirePrincipal().subject
            return .registerDevice(DeviceBook.Device(id: try Self.chosenID(body.id, "dev"), holder: body.holder ?? caller, publicKey: body.publicKey))
        } answer: { entries in
            compact(["device": entries.first?.body.payload["device"], "holder": entries.first?.body.payload["holder"], "publicKey": entries.first?.body.payload["publicKey"]])
        }
        routes.on(.get, "/v1/devices/{device}", .needs(.devicesRead)) { _, context in
            Response.json(.ok, try Self.deviceRecord(loop, try PathParameters.id(context, "device")))
        }
        routes.write(.post, "/v1/devices/{device}/revoke", .needs(.devicesManage), status: .ok) { bytes, context in
            let body = try RequestBodies.decode(bytes, as: RevocationBody.self)
            try Field.code(body.reason, DeviceBook.RevocationReason.self, "reason")
            let principal = try context.requirePrincipal()
            return .revokeDevice(
                device: try PathParameters.id(context, "device"), reason: DeviceBook.RevocationReason(rawValue: body.reason)!,
                asOperator: access.allows(principal.role, .devicesRevoke))
        } answer: { entries in
            compact(["device": entries.first?.body.payload["device"], "reason": entries.first?.body.payload["reason"]])
        }
        routes.write(.post, "/v1/scans", .needs(.scansSubmit), status: .created) { bytes, _ in
            .attestScan(try RequestBodies.decode(bytes, as: SignedScanBody.self).scan())
        } answer: { entries in
            compact([
                "scan": entries.first?.body.payload["scan"], "stage": entries.first?.body.payload["stage"], "score": entries.first?.body.payload["score"],
            ])
        }
    }

    /// `GET /v1/devices/{id}`'s answer (the console's device page shows the same).
    static func deviceRecord(_ loop: CommandLoop, _ id: String) throws(Problem) -> [String: JSONValue] {
        guard let device = loop.read({ $0.devices.devices[id] }) else { throw Problem.rejected(.device(.deviceNotFound)) }
        var answer = EntryCodec.payload(of: .deviceRegistered(device))
        answer["revoked"] = .bool(device.revokedAt != nil)
        answer["revokedAt"] = device.revokedAt.map(JSONValue.integer)
        return answer
    }
}

struct DeviceBody: StrictBody {
    static let fields: Set<String> = ["id", "holder", "publicKey"]
    var id: String?
    /// The caller itself when absent; a company may name one of its sites.
    var holder: String?
    /// Base64 of the 32-byte Ed25519 public key.
    var publicKey: String

    func check() throws {
        try Field.id(id, "id")
        if let holder { try Field.reference(holder, "holder") }
        guard InputDomain.isEd25519PublicKey(publicKey) else {
            throw Problem(.badRequest, "publicKeyIsMalformed", "Not an Ed25519 public key", detail: "publicKey: base64 of 32 bytes (44 characters)")
        }
    }
}

struct RevocationBody: StrictBody {
    static let fields: Set<String> = ["reason"]
    var reason: String
}

/// A scan document and the device's signature (FORMAT §7.14). The document may arrive in any
/// key order or spacing: the signature is over its canonical form, which the service rebuilds.
struct SignedScanBody: StrictBody {
    static let fields: Set<String> = ["document", "signature"]
    var document: ScanDocumentBody
    /// Base64 of the 64-byte Ed25519 signature.
    var signature: String

    /// The scan, its domains checked, its id computed; its signature is checked by the command loop.
    func scan() throws -> DeviceBook.Scan {
        try document.check()
        guard let bytes = Base64.decode(signature), bytes.count == 64 else {
            throw Problem(.badRequest, "scanIsMalformed", "The scan cannot be read", detail: "signature: base64 of 64 bytes")
        }
        let subject: DeviceBook.Subject =
            switch (document.offer, document.claim) {
            case (let offer?, nil): .offer(offer)
            case (nil, let claim?): .claim(claim)
            default: throw Problem(.badRequest, "scanIsMalformed", "The scan cannot be read", detail: "document: exactly one of offer and claim")
            }
        var scan = DeviceBook.Scan(
            id: "", device: document.device, subject: subject, score: document.score, model: document.model, modelVersion: document.modelVersion,
            imageSha256: document.imageSha256, scannedAt: document.scannedAt, signature: signature)
        scan.id = ScanDocument.id(of: scan)
        return scan
    }
}

struct ScanDocumentBody: StrictBody {
    static let fields: Set<String> = ["v", "device", "offer", "claim", "score", "model", "modelVersion", "imageSha256", "scannedAt"]
    var v: Int64
    var device: String
    var offer: String?
    var claim: String?
    var score: Int64
    var model: String
    var modelVersion: String
    var imageSha256: String
    var scannedAt: Int64

    func check() throws {
        func malformed(_ detail: String) -> Problem { Problem(.badRequest, "scanIsMalformed", "The scan cannot be read", detail: detail) }
        guard v == 1 else { throw malformed("document.v: 1") }
        try Field.reference(device, "document.device")
        if let offer { try Field.reference(offer, "document.offer") }
        if let claim { try Field.reference(claim, "document.claim") }
        try Field.range(score, InputDomain.freshnessScore, "document.score")
        try Field.id(model, "document.model")
        guard InputDomain.isModelVersion(modelVersion) else { throw malformed("document.modelVersion: 1–32 bytes of 0-9 a-z . -, at most \(InputDomain.idDigitsMax) digits") }
        guard InputDomain.isSHA256Hex(imageSha256) else { throw malformed("document.imageSha256: 64 lowercase hex digits") }
        try Field.range(scannedAt, InputDomain.microseconds, "document.scannedAt")
    }
}
