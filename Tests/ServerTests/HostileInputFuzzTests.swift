import Foundation
import Hummingbird
import HummingbirdTesting
@testable import Ledger
@testable import Server
import Testing

/// Seeded random and mutated input for every parser on the request path: strict bodies, tile
/// paths, the audit and report routes' query and path parameters, bearer tokens. Each must
/// answer a value or a named refusal, never trap (a trap takes the service down for everyone).
///
/// Deterministic: the seed is fixed unless `PAHLAWAN_FUZZ_SEED` is set, and is printed at the
/// start (a trap kills the process before any report) and in every failure. Run longer with
/// `PAHLAWAN_FUZZ_ITERATIONS=200000 .ci/with-postgres swift test --skip-build --filter HostileInputFuzzTests`
/// (the figure is for the in-process parsers; routed requests get a tenth of it).
@Suite struct HostileInputFuzzTests {
    static let environment = ProcessInfo.processInfo.environment
    static let iterations = environment["PAHLAWAN_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 20_000
    static let seed = environment["PAHLAWAN_FUZZ_SEED"].flatMap(UInt64.init) ?? 13

    static func generator(_ test: String) -> Fuzz {
        print("fuzz \(test): PAHLAWAN_FUZZ_SEED=\(seed) PAHLAWAN_FUZZ_ITERATIONS=\(iterations)")
        return Fuzz(seed: seed)
    }

    // MARK: Strict bodies

    /// A body decoder that refuses anything must not trap either: every type in Bodies.swift,
    /// on random bytes and on mutations of bodies it accepts.
    @Test func strictBodiesAnswerAValueOrA400() throws {
        var fuzz = Self.generator("bodies")
        let expiresAt = 1_900_000_000_000_000
        let corpus: [(String, ([UInt8]) throws -> Any)] = [
            (#"{"id":"site-1","role":"site","company":"cmp-1","region":"ID-JK","latitude":-6208800,"longitude":106845600,"acceptedCategories":["mixedMeals"],"taxNumber":"0123","donationPurpose":"education"}"#,
                { try RequestBodies.decode($0, as: ParticipantBody.self) }),
            (#"{"category":"mixedMeals","grams":4200,"portions":10,"latitude":-6208800,"longitude":106845600,"temperature":"ambient","expiresAt":\#(expiresAt),"priceRupiah":0,"costRupiah":5}"#,
                { try RequestBodies.decode($0, as: SurplusBody.self) }),
            (#"{"id":"clm-1","offer":"off-1","seenVersion":1,"portions":4}"#, { try RequestBodies.decode($0, as: ClaimBody.self) }),
            (#"{"pickupCode":"7KQ2AB","grams":1680,"declaredFreshnessScore":90}"#, { try RequestBodies.decode($0, as: PickupBody.self) }),
            (#"{"portionsServed":4}"#, { try RequestBodies.decode($0, as: DeliveryBody.self) }),
            ("{}", { try RequestBodies.decode($0, as: EmptyBody.self) }),
            (#"{"id":"dsp-1","claim":"clm-1","reason":"spoiled","evidence":["sha256:00ff"]}"#, { try RequestBodies.decode($0, as: DisputeBody.self) }),
            (#"{"outcome":"partialRefund","refundRupiah":500}"#, { try RequestBodies.decode($0, as: DecisionBody.self) }),
            (#"{"to":"cmp-2","range":{"vintage":2026,"first":1,"last":10}}"#, { try RequestBodies.decode($0, as: TransferBody.self) }),
            (#"{"range":{"vintage":2026,"first":1,"last":10},"beneficiary":"cmp-1","reason":"offset"}"#, { try RequestBodies.decode($0, as: RetirementBody.self) }),
            (#"{"range":{"vintage":2026,"first":1,"last":10},"reason":"reversal"}"#, { try RequestBodies.decode($0, as: CancellationBody.self) }),
            (#"{"subject":"sub-1","name":"Budi","phone":"+6281234567890","address":{"street":"Jl. Merdeka 1","postcode":"10110"}}"#,
                { try RequestBodies.decode($0, as: SubjectBody.self) }),
        ]
        // The seeds are accepted: the properties below are not vacuous.
        for (body, decode) in corpus { _ = try decode(Array(body.utf8)) }
        var accepted = 0
        for iteration in 0..<Self.iterations {
            let (seedBody, decode) = corpus[fuzz.below(corpus.count)]
            let input = fuzz.below(8) == 0 ? fuzz.randomBytes(fuzz.below(64)) : fuzz.mutateJSON(Array(seedBody.utf8))
            do {
                _ = try decode(input)
                accepted += 1
            } catch let problem as Problem {
                #expect(problem.status == .badRequest, "seed \(Self.seed) iteration \(iteration): \(problem.name) for \(String(decoding: input.prefix(200), as: UTF8.self))")
            } catch {
                Issue.record("seed \(Self.seed) iteration \(iteration): \(error) is not a Problem, for \(String(decoding: input.prefix(200), as: UTF8.self))")
            }
        }
        print("fuzz bodies: \(Self.iterations) inputs, \(accepted) accepted")
    }

    /// The strict parser and the ledger's own (CanonicalJSON) agree on every input both
    /// read: a differential check that the body parser is not looser than the ledger's.
    @Test func theBodyParserAcceptsNothingTheLedgerParserRefusesForSyntax() {
        var fuzz = Self.generator("parser-differential")
        let seeds = [#"{"a":[1,-2,{"b":"c\u00e9\n"}],"d":true,"e":false,"f":"\ud83d\ude00"}"#, #"["x",{"y":{"z":[[]]}}]"#]
        for iteration in 0..<Self.iterations {
            let input = fuzz.mutateJSON(Array(seeds[fuzz.below(seeds.count)].utf8))
            let ours = Result { () throws(Problem) in try StrictJSON.parse(input) }
            let ledgers = Result { () throws(CanonicalJSON.ParseError) in try CanonicalJSON.parse(input) }
            // The ledger's parser refuses floats, nulls and large integers by design; where it
            // refuses for syntax, UTF-8 or a duplicate key, so must we.
            switch (ledgers, ours) {
            case (.failure(let error), .success) where ![CanonicalJSON.ParseError.Reason.floatNotAllowed, .nullNotAllowed, .integerOutOfRange, .tooDeep].contains(error.reason):
                Issue.record("seed \(Self.seed) iteration \(iteration): the ledger refuses (\(error.reason)) what the body parser accepts: \(String(decoding: input, as: UTF8.self))")
            case (.success, .failure(let problem)) where !problem.detail.contains("nesting"):
                Issue.record("seed \(Self.seed) iteration \(iteration): the body parser refuses (\(problem.detail)) what the ledger accepts: \(String(decoding: input, as: UTF8.self))")
            default:
                break
            }
        }
    }

    // MARK: Tile paths

    /// Any path after `/tile/` parses to nothing or to a tile that writes back as the same path.
    @Test func tilePathsParseToNothingOrRoundTrip() {
        var fuzz = Self.generator("tile-paths")
        let seeds = ["0/000", "1/x001/234", "entries/x018/x446/x744/x073/x709/x551/615", "2/005.p/17", "entries/x999/x999/999.p/255", "63/x000/000"]
        let alphabet = Array("0123456789x./pentries-".utf8)
        var parsed = 0
        for iteration in 0..<Self.iterations {
            let input: [UInt8] =
                fuzz.below(4) == 0
                ? (0..<fuzz.below(48)).map { _ in alphabet[fuzz.below(alphabet.count)] }
                : fuzz.mutate(Array(seeds[fuzz.below(seeds.count)].utf8), alphabet: alphabet)
            let text = String(decoding: input, as: UTF8.self)
            guard let tile = TilePath.parse(text) else { continue }
            parsed += 1
            if let level = tile.level {
                #expect("tile/" + text == TileStore.path(level: level, index: tile.index, width: tile.width), "seed \(Self.seed) iteration \(iteration): \(text)")
            }
        }
        print("fuzz tile paths: \(Self.iterations) inputs, \(parsed) parsed")
    }

    // MARK: Routed parameters

    /// Random query and path values on every audit and report route, and random tile paths:
    /// never a 5xx, always problem+json when refused.
    @Test func auditAndReportParametersNeverAnswer5xx() async throws {
        var fuzz = Self.generator("query-parameters")
        let fixture = try await ServiceTests.Fixture()
        defer { fixture.close() }
        let auditor = try await fixture.bearer("audit-1", .auditor)
        let routes: [(String, [String])] = [
            ("/v1/entries", ["kind", "actor", "company", "since", "until", "cursor", "limit"]),
            ("/v1/proofs/consistency", ["from", "to"]), ("/v1/entries/{n}", []), ("/v1/carbon/serials/{n}/{n}", []),
            ("/v1/companies/{id}/summary", []), ("/v1/reports/csr/{id}", ["site", "from", "until", "format", "source"]),
            ("/v1/reports/tax/{id}", ["year", "priorYearNetIncomeRupiah", "format"]), ("/v1/reports/carbon/{id}", ["format"]),
            ("/v1/reports/certificate/{id}", ["format"]), ("/v1/reports/retirements", ["format", "source"]), ("/tile/{tile}", []),
        ]
        let values = [
            "0", "1", "-1", "2026", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "9007199254740991", "9007199254740992",
            "18446744073709551615", "99999999999999999999999999", "", "abc", "1e3", "1.5", "%00", "%FF%FE", "cmp-jkt-1", "site-jkt-1", "csv", "json",
            "ledger", "rescue.completed", "%E2%80%AE", String(repeating: "9", count: 300), "+1", "-0",
        ]
        var uris: [String] = []
        for _ in 0..<max(200, Self.iterations / 10) {
            let (template, parameters) = fuzz.pick(routes)
            var path = template
            while let range = path.range(of: "{n}") {
                let value = fuzz.pick(values)
                path.replaceSubrange(range, with: value.isEmpty ? "0" : value)
            }
            let id = fuzz.below(2) == 0 ? "cmp-jkt-1" : fuzz.pick(values)
            path = path.replacingOccurrences(of: "{id}", with: id.isEmpty ? "x" : id)
            let tile = fuzz.mutate(Array("entries/x001/x234/067.p/9".utf8), alphabet: Array("0123456789x./p".utf8))
            path = path.replacingOccurrences(of: "{tile}", with: String(decoding: tile, as: UTF8.self))
            var query: [String] = []
            for _ in 0..<fuzz.below(4) {
                let name = fuzz.below(6) == 0 || parameters.isEmpty ? "unknown" : fuzz.pick(parameters)
                query.append("\(name)=\(fuzz.pick(values))")
            }
            uris.append(path + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
        }
        let requests = uris
        try await fixture.app.test(.router) { client in
            try await ServiceTests.registerCity(client, fixture)
            _ = try await fixture.loop.ledger.checkpoint()
            for (iteration, uri) in requests.enumerated() {
                try await client.execute(uri: uri, method: .get, headers: auditor) { response in
                    #expect(response.status.code < 500, "seed \(Self.seed) request \(iteration): \(uri) → \(response.status) \(String(buffer: response.body).prefix(200))")
                    if response.status.code >= 400 {
                        #expect(response.headers[.contentType] == "application/problem+json", "seed \(Self.seed) request \(iteration): \(uri)")
                    }
                }
            }
        }
        print("fuzz query parameters: \(requests.count) requests")
    }

    // MARK: Bearer tokens

    /// Random strings, mutations of a valid token and well-formed tokens that nobody signed:
    /// a principal or an AuthError, and only the untouched signed token names a principal.
    @Test func bearerTokensAnswerAPrincipalOrARefusal() async throws {
        var fuzz = Self.generator("bearer-tokens")
        let authority = try await TokenAuthority(seed: [UInt8](repeating: 3, count: 32))
        let valid = try await authority.mint(subject: "audit-1", role: .auditor)
        #expect(try await authority.principal(fromBearer: valid) == Principal(subject: "audit-1", role: .auditor))
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ".utf8)
        let payloads = [
            #"{"iss":"pahlawan-trust","aud":"pahlawan-trust-api","exp":99999999999999999999,"iat":-1e308,"sub":"x","role":"operator"}"#,
            #"{"iss":"pahlawan-trust","aud":["pahlawan-trust-api"],"exp":1e400,"iat":1,"sub":"x","role":"admin","nbf":"x"}"#,
            #"{"exp":9223372036854775807,"iat":-9223372036854775808}"#, "[]", "null", #"{"role":{"a":[[[[[[]]]]]]}}"#,
        ]
        let headers = [#"{"alg":"none","typ":"JWT"}"#, #"{"alg":"EdDSA","typ":"JWT"}"#, #"{"alg":"RS256","kid":"x"}"#, #"{"alg":"HS256"}"#, "{}"]
        var refused = 0
        for iteration in 0..<max(500, Self.iterations / 10) {
            let token: String
            switch fuzz.below(3) {
            case 0: token = String(decoding: (0..<fuzz.below(200)).map { _ in alphabet[fuzz.below(alphabet.count)] }, as: UTF8.self)
            case 1: token = String(decoding: fuzz.mutate(Array(valid.utf8), alphabet: alphabet), as: UTF8.self)
            default:
                let signature = fuzz.below(2) == 0 ? "" : Base64URL.encode(fuzz.randomBytes(64))
                token = Base64URL.encode(Array(fuzz.pick(headers).utf8)) + "." + Base64URL.encode(Array(fuzz.pick(payloads).utf8)) + "." + signature
            }
            do {
                let principal = try await authority.principal(fromBearer: token)
                #expect(token == valid || principal == Principal(subject: "audit-1", role: .auditor), "seed \(Self.seed) iteration \(iteration): \(token)")
            } catch {
                refused += 1
            }
        }
        #expect(refused > 0)
    }
}

/// SplitMix64 and the mutations the fuzz tests apply.
struct Fuzz {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(next() % UInt64(bound)) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    mutating func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }

    /// Tokens that make JSON readers misbehave: big and non-integer numbers, nulls, escapes,
    /// surrogates, deep nesting, duplicate-looking keys.
    static let jsonTokens = [
        "9007199254740993", "-9007199254740993", "9223372036854775808", "-0", "1e400", "1.0", "0.5", "1E2", "null", "true", "\"\\ud800\"",
        "\"\\u0000\"", "\"\\uDBFF\\uDFFF\"", "\"\\x\"", "[", "]", "{", "}", ",", ":", "\"", "\\", "[[[[[[[[[[[[[[[[", "{\"a\":{\"a\":{\"a\":{\"a\":",
        "\"id\":\"x\",\"id\":\"y\"", "\u{7F}", "\u{FEFF}", "01", "-", "\"range\":{}", "\"evidence\":[1,2]", "\"address\":{\"a\":1}",
    ]

    /// One to four random edits of `bytes`, with JSON tokens among the inserted pieces.
    mutating func mutateJSON(_ bytes: [UInt8]) -> [UInt8] {
        var result = bytes
        for _ in 0...below(4) {
            switch below(6) {
            case 0: result = insert(result, Array(pick(Self.jsonTokens).utf8))
            case 1: result = replaceSpan(result, Array(pick(Self.jsonTokens).utf8))
            default: result = mutate(result, alphabet: nil)
            }
        }
        return result
    }

    /// One random edit: flip a bit, set a byte (from `alphabet` when given), insert, delete,
    /// duplicate or truncate.
    mutating func mutate(_ bytes: [UInt8], alphabet: [UInt8]?) -> [UInt8] {
        var result = bytes
        let byte = alphabet.map { pick($0) } ?? UInt8(truncatingIfNeeded: next())
        switch below(6) {
        case 0 where !result.isEmpty: result[below(result.count)] ^= UInt8(1) << UInt8(below(8))
        case 1 where !result.isEmpty: result[below(result.count)] = byte
        case 2: result.insert(byte, at: below(result.count + 1))
        case 3 where !result.isEmpty: result.remove(at: below(result.count))
        case 4 where !result.isEmpty:
            let start = below(result.count)
            let end = start + below(result.count - start + 1)
            result.insert(contentsOf: result[start..<end], at: below(result.count + 1))
        default: result = Array(result.prefix(below(result.count + 1)))
        }
        return result
    }

    mutating func insert(_ bytes: [UInt8], _ piece: [UInt8]) -> [UInt8] {
        var result = bytes
        result.insert(contentsOf: piece, at: below(result.count + 1))
        return result
    }

    mutating func replaceSpan(_ bytes: [UInt8], _ piece: [UInt8]) -> [UInt8] {
        guard !bytes.isEmpty else { return piece }
        var result = bytes
        let start = below(result.count)
        let end = min(result.count, start + 1 + below(8))
        result.replaceSubrange(start..<end, with: piece)
        return result
    }
}
