import Compliance
import Core
import Foundation
import Hummingbird
import Ledger
import Rescue

/// The PII vault over HTTP (FORMAT.md §7.10): personal data is stored sealed per subject, read
/// masked per role, read unmasked only by a role with `pii.unmasked` stating a reason (which
/// appends `pii.accessed`), exported to the subject with every recorded access (UU PDP Art. 32),
/// and erased by destroying the subject's key (`subject.erased`).
extension Service {
    func addSubjectRoutes(_ routes: RouteBuilder) {
        let loop = loop
        let vault = vault
        let masker = masker
        let access = settings.access
        let log = SubjectLog()
        /// Self, or a role that manages subjects.
        @Sendable func requireSelfOrManager(_ principal: Principal, _ subject: String) throws {
            guard principal.subject == subject || access.allows(principal.role, .subjectsManage) else {
                throw Problem(.forbidden, "notYourData", "Only the data subject or a manager of subjects may do this", detail: subject)
            }
        }
        routes.on(.post, "/v1/subjects", .needs(.subjectsManage)) { request, context in
            let body = try RequestBodies.decode(try await RequestBodies.bytes(request, context), as: SubjectBody.self)
            let record = try body.validatedRecord()
            // The vault names subjects itself, so a subject id (which `pii.accessed` and
            // `subject.erased` write into the ledger) can never be a NIK or a phone number. A
            // registered participant's own data is kept under its participant id instead.
            let subject: String
            if let given = body.subject {
                guard loop.read({ $0.participants.participants[given] }) != nil else {
                    try Field.id(given, "subject")
                    throw Problem(
                        .unprocessableContent, "subjectIsNotAParticipant", "Only a registered participant's id may name a subject",
                        detail: "leave subject out and the vault names one (sub-…)")
                }
                subject = given
            } else {
                subject = Self.newID("sub")
            }
            try Self.vault { () throws(VaultError) in try vault.store(subject: subject, record: record) }
            return Response.json(.created, ["subject": .string(subject), "fields": .array(record.keys.sorted().map(JSONValue.string))])
        }
        routes.on(.get, "/v1/subjects/{subject}", .needs(.subjectsRead)) { request, context in
            let subject = try PathParameters.id(context, "subject")
            let principal = try context.requirePrincipal()
            let record = try Self.vault { () throws(VaultError) in try vault.read(subject: subject) }
            guard access.allows(principal.role, .piiUnmasked) else {
                return Response.json(.ok, ["subject": .string(subject), "record": .object(masker.mask(record: record, role: principal.role.rawValue)), "masked": true])
            }
            // Unmasked reads are never silent: a stated purpose, recorded before the data leaves.
            // The purpose is a code and the case a ticket id: free text here was the last field
            // through which a name or an address could reach the signed ledger.
            let codes = UnmaskedReadReason.allCases.map(\.rawValue).joined(separator: ", ")
            guard let reason = request.uri.queryParameters.get("reason") else {
                throw Problem(.badRequest, "reasonRequired", "Reading personal data unmasked needs a stated purpose", detail: "add ?reason= one of \(codes) (and ?ticket=<id>)")
            }
            guard UnmaskedReadReason(rawValue: reason) != nil else {
                throw Problem(.badRequest, "reasonIsNotACode", "Not one of the codes", detail: "reason: \(codes)")
            }
            var payload: [String: JSONValue] = ["subject": .string(subject), "reason": .string(reason), "fields": .array(record.keys.sorted().map(JSONValue.string))]
            if let ticket = request.uri.queryParameters.get("ticket") {
                try Field.id(ticket, "ticket")
                payload["ticket"] = .string(ticket)
            }
            let entry = try await Self.record(loop, kind: .piiAccessed, actor: principal.subject, payload: payload)
            return Response.json(.ok, ["subject": .string(subject), "record": .object(record), "masked": false, "accessSeq": .integer(Int64(entry.seq))])
        }
        routes.on(.get, "/v1/subjects/{subject}/export", .needs(.subjectsSelf)) { _, context in
            let subject = try PathParameters.id(context, "subject")
            try requireSelfOrManager(try context.requirePrincipal(), subject)
            var answer: [String: JSONValue] = ["subject": .string(subject)]
            if let erased = vault.erasure(of: subject) {
                answer["erasedAt"] = .integer(erased.time)
            } else {
                answer["record"] = .object(try Self.vault { () throws(VaultError) in try vault.read(subject: subject) })
            }
            let events = try Self.ledgerRead { try log.events(of: subject, ledger: loop.ledger) }
            answer["accesses"] = .array(events.filter { $0["kind"] == .string(EntryKind.piiAccessed.rawValue) }.map { .object($0) })
            answer["erasures"] = .array(events.filter { $0["kind"] == .string(EntryKind.subjectErased.rawValue) }.map { .object($0) })
            return Response.json(.ok, answer)
        }
        routes.on(.delete, "/v1/subjects/{subject}", .needs(.subjectsSelf)) { _, context in
            let subject = try PathParameters.id(context, "subject")
            let principal = try context.requirePrincipal()
            try requireSelfOrManager(principal, subject)
            // The key is destroyed first, then the erasure recorded: a crash in between leaves
            // the vault's own note, and repeating the DELETE records it (never a recorded
            // erasure of data that still exists).
            if vault.erasure(of: subject) == nil {
                _ = try Self.vault { () throws(VaultError) in try vault.erase(subject: subject, at: Ledger.wallClockMicroseconds()) }
            }
            guard let erased = vault.erasure(of: subject) else { throw Problem(.serviceUnavailable, "vaultUnavailable", "The vault failed", detail: "the erasure note is missing") }
            let recorded = try Self.ledgerRead { try log.events(of: subject, ledger: loop.ledger) }.first { $0["kind"] == .string(EntryKind.subjectErased.rawValue) }
            if let recorded {
                return Response.json(.ok, ["subject": .string(subject), "erasureSeq": recorded["seq"]!, "sealedKeySHA256": .string(erased.sealedKeyDigest.hex)])
            }
            let entry = try await Self.record(loop, kind: .subjectErased, actor: principal.subject, payload: [
                "subject": .string(subject), "sealedKeySHA256": .string(erased.sealedKeyDigest.hex),
            ])
            return Response.json(.ok, ["subject": .string(subject), "erasureSeq": .integer(Int64(entry.seq)), "sealedKeySHA256": .string(erased.sealedKeyDigest.hex)])
        }
    }

    static func record(_ loop: CommandLoop, kind: EntryKind, actor: String, payload: [String: JSONValue]) async throws -> SignedEntry {
        do throws(CommandError) {
            return try await loop.record(kind: kind, actor: actor, payload: payload)
        } catch {
            throw Problem.command(error)
        }
    }

    static func vault<T>(_ body: () throws(VaultError) -> T) throws -> T {
        do throws(VaultError) {
            return try body()
        } catch {
            switch error.code {
            case .unknownSubject: throw Problem(.notFound, "subjectNotFound", "No personal data for this subject", detail: error.reason)
            case .erased: throw Problem(.gone, "subjectErased", "This subject's personal data was erased", detail: error.reason)
            case .badSubject: throw Problem.badRequest(error.reason)
            case .badMasterKey, .damaged, .storage: throw Problem(.serviceUnavailable, "vaultUnavailable", "The vault failed", detail: error.code.rawValue)
            }
        }
    }
}

/// The ledger's `pii.accessed` and `subject.erased` entries by subject, read incrementally.
final class SubjectLog: Sendable {
    private static let markers = [EntryKind.piiAccessed, .subjectErased].map { Array(#""kind":"\#($0.rawValue)""#.utf8) }

    private let bySubject = LedgerFold([String: [[String: JSONValue]]]()) { bySubject, seq, bytes in
        guard SubjectLog.markers.contains(where: { bytes.contains(subsequence: $0) }), let body = try? EntryBody.decodeVerified(bytes),
            case .string(let subject)? = body.payload["subject"]
        else { return }
        var event = body.payload
        event["seq"] = .integer(Int64(seq))
        event["time"] = .integer(body.time)
        event["kind"] = .string(body.kind)
        event["actor"] = .string(body.actor)
        bySubject[subject, default: []].append(event)
    }

    func events(of subject: String, ledger: Ledger) throws -> [[String: JSONValue]] {
        try bySubject.read(ledger, upTo: ledger.size) { $0[subject] ?? [] }
    }
}

/// `POST /v1/subjects`: a data subject's personal data, keyed by the kinds `masking.yaml` knows.
struct SubjectBody: StrictBody {
    static let fields: Set<String> = ["subject", "name", "phone", "email", "address", "nik", "npwp"]
    /// A registered participant's id for its own data; left out, the vault names the subject.
    var subject: String?
    var name: String?
    var phone: String?
    var email: String?
    var address: [String: String]?
    var nik: String?
    var npwp: String?

    static let addressParts: Set<String> = ["street", "kelurahan", "kecamatan", "kota", "province", "postalCode"]

    func validatedRecord() throws -> [String: JSONValue] {
        if let subject { try Field.reference(subject, "subject") }
        if let nik, !PIIFormats.isNIK(nik) {
            throw Problem(.badRequest, "invalidNIK", "Not a NIK", detail: "16 digits starting with a valid province code")
        }
        if let address, let unknown = Set(address.keys).subtracting(Self.addressParts).sorted().first {
            throw Problem(.badRequest, "unknownField", "The address has a part this service does not take", detail: "address.\(unknown)")
        }
        var record: [String: JSONValue] = [:]
        record["name"] = name.map(JSONValue.string)
        record["phone"] = phone.map(JSONValue.string)
        record["email"] = email.map(JSONValue.string)
        record["nik"] = nik.map(JSONValue.string)
        record["npwp"] = npwp.map(JSONValue.string)
        record["address"] = address.map { .object($0.mapValues(JSONValue.string)) }
        guard !record.isEmpty else { throw Problem(.badRequest, "missingField", "No personal data given", detail: "name, phone, email, address, nik or npwp") }
        return record
    }
}
