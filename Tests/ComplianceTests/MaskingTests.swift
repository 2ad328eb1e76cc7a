@testable import Compliance
import Foundation
import Ledger
import Testing

@Suite struct MaskingTests {
    static let policy = try! MaskingPolicy.load(path: PolicySetTests.repository + "/policies/masking.yaml")
    let masker = Masker(policy: MaskingTests.policy, secret: [UInt8](repeating: 9, count: 32))

    static let record: [String: JSONValue] = [
        "name": "Budi Santoso", "phone": "0812-3456-7889", "email": "budi.santoso@contoh.co.id",
        "address": [
            "street": "Jl. Kebon Sirih No. 12", "kelurahan": "Kebon Sirih", "kecamatan": "Menteng", "kota": "Jakarta Pusat",
            "province": "DKI Jakarta", "postalCode": "10340",
        ],
        "nik": "3174011505900001", "npwp": "09.254.294.3-407.000", "favouriteFood": "nasi goreng",
    ]

    @Test func realIndonesianFormatsAreMasked() {
        #expect(PIIFormats.maskPhone("0812-3456-7889") == "+62 812-****-**89")
        #expect(PIIFormats.maskPhone("+62 812 3456 7889") == "+62 812-****-**89")
        #expect(PIIFormats.maskPhone("6281234567889") == "+62 812-****-**89")
        #expect(PIIFormats.maskPhone("021-3456789") == nil, "a Jakarta landline is not a mobile number")
        #expect(PIIFormats.maskEmail("budi.santoso@contoh.co.id") == "b***@contoh.co.id")
        #expect(PIIFormats.maskNIK("3174011505900001") == "317401******0001")
        #expect(PIIFormats.maskNIK("9974011505900001") == nil, "99 is no province")
        #expect(PIIFormats.maskNPWP("09.254.294.3-407.000") == "09**********000")
        #expect(PIIFormats.maskName("Budi Santoso") == "B*** S***")
    }

    @Test func eachRoleSeesWhatThePolicySays() {
        let operatorView = masker.mask(record: Self.record, role: "operator")
        #expect(operatorView["phone"] == "0812-3456-7889" && operatorView["nik"] == "317401******0001")
        #expect(operatorView["favouriteFood"] == "[redacted]", "fields the policy does not know are redacted")

        let auditor = masker.mask(record: Self.record, role: "auditor")
        #expect(auditor["phone"] == "[redacted]" && auditor["nik"] == "[redacted]")
        #expect(auditor["email"] == "b***@contoh.co.id" && auditor["npwp"] == "09**********000")
        #expect(auditor["address"] == ["kecamatan": "Menteng", "kota": "Jakarta Pusat", "province": "DKI Jakarta"])
        // Pseudonyms are stable for a role and differ between roles and people.
        let pseudonym = auditor["name"]?.stringValue ?? ""
        #expect(pseudonym.hasPrefix("psn_") && pseudonym.count == 20)
        #expect(masker.mask(record: Self.record, role: "auditor")["name"] == auditor["name"])
        #expect(masker.mask(field: "name", value: "Siti Rahayu", role: "auditor") != auditor["name"])

        let tax = masker.mask(record: Self.record, role: "tax_authority")
        #expect(tax["npwp"] == "09.254.294.3-407.000" && tax["name"] == "Budi Santoso" && tax["nik"] == "317401******0001")
        let trader = masker.mask(record: Self.record, role: "carbon_trader")
        #expect(trader["name"] == "[redacted]" && trader["phone"] == "[redacted]" && trader["npwp"] == "[redacted]")
        #expect(masker.mask(record: Self.record, role: "intruder")["name"] == "[redacted]", "unknown roles see nothing")
    }

    @Test func freeTextIsScannedForNIKsPhonesAndEmails() {
        let text = "Kontak Budi 0812-3456-7889 / +62 813 1111 2222, email budi@contoh.id, NIK 3174011505900001, order 9934567890123456."
        let masked = masker.maskFreeText(text, role: "auditor")
        #expect(masked == "Kontak Budi +62 812-****-**89 / +62 813-****-**22, email b***@contoh.id, NIK 317401******0001, order 9934567890123456.")
        #expect(masker.maskFreeText(text, role: "operator") == text)
    }

    /// The filter in front of the patterns skips a text only when they would leave it as it is:
    /// random texts dense in digits, separators, `+62`, `@`, combining marks and other scripts'
    /// digits, masked with and without the filter, agree.
    @Test func theRunFilterSkipsOnlyTextsThePatternsLeaveAlone() {
        let pieces = ["0", "8", "1", "2", "62", "+62", "3174", " ", ".", "-", "--", ". ", "a", "x", "@", "b@c.id", "\u{301}", "٣", "/", "_", "é", ":"]
        var random = SystemRandomNumberGenerator()
        var changed = 0
        for _ in 0..<4_000 {
            let text = (0..<Int.random(in: 1...40, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            let byPatterns = PIIFormats.maskFreeTextByPatterns(text)
            changed += byPatterns == text ? 0 : 1
            #expect(PIIFormats.maskFreeText(text) == byPatterns, "\(text)")
        }
        #expect(changed > 100)
        for text in ["4bf92f3577b34da6a3ce929d0e0e4736", "/v1/entries/1234567", "duration 123456789"] { #expect(PIIFormats.maskFreeText(text) == text) }
        #expect(PIIFormats.maskFreeText("call 0812.3456.7889 now") != "call 0812.3456.7889 now")
    }

    @Test func aBadMaskingFileNamesItsKeyAndLine() throws {
        let directory = NSTemporaryDirectory() + "masking-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = try String(contentsOfFile: PolicySetTests.repository + "/policies/masking.yaml", encoding: .utf8)
        let cases: [(from: String, to: String, key: String)] = [
            ("    auditor: pseudonym", "    auditor: scramble", "fields.name.auditor"),
            ("    courier: keep\n    auditor: pseudonym", "    couriers: keep\n    auditor: pseudonym", "fields.name.couriers"),
            ("freeTextUnmaskedRoles: [operator]", "freeTextUnmaskedRoles: [root]", "freeTextUnmaskedRoles"),
        ]
        for change in cases {
            let path = directory + "/masking.yaml"
            try good.replacingOccurrences(of: change.from, with: change.to).write(toFile: path, atomically: true, encoding: .utf8)
            do {
                _ = try MaskingPolicy.load(path: path)
                Issue.record("\(change.to) was accepted")
            } catch {
                #expect(error.key == change.key, "\(error)")
                #expect(error.line != nil, "\(error)")
            }
        }
    }
}

@Suite struct AccessPolicyTests {
    @Test func unknownRolesAndPermissionsAreRefusedWithTheirKey() throws {
        let directory = NSTemporaryDirectory() + "access-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let roles = ["operator", "auditor"]
        let known: Set<String> = ["entries.read", "surplus.post"]
        let path = directory + "/access.yaml"
        try "version: 1\nroles:\n  operator: [entries.read, surplus.post]\n  auditor: []\n".write(toFile: path, atomically: true, encoding: .utf8)
        let policy = try AccessPolicy.load(path: path, roles: roles, known: known)
        #expect(policy.allows(role: "operator", "surplus.post") && !policy.allows(role: "auditor", "entries.read"))
        for (text, key) in [
            ("version: 1\nroles:\n  root: [entries.read]\n", "roles.root"), ("version: 1\nroles:\n  auditor: [everything]\n", "roles.auditor"),
            ("version: 1\nroles:\n  auditor: entries.read\n", "roles.auditor"),
        ] {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            do {
                _ = try AccessPolicy.load(path: path, roles: roles, known: known)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.key == key, "\(error)")
            }
        }
    }
}
