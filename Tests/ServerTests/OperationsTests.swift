#if canImport(Glibc)
import Glibc
#endif
@testable import Compliance
import Core
import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import Logging
import PropertyBased
@testable import Server
import Synchronization
import Testing

/// Operations: rate limits, trace ids, metrics, masked logs, the request timeout and the
/// admission bound (the last two over real sockets).
@Suite struct OperationsTests {
    typealias Fixture = ServiceTests.Fixture

    @Test func aPrincipalOverItsRateGets429WithRetryAfterAndOthersAreUnaffected() async throws {
        // The limiter's clock stands still: on a loaded machine the four requests may take longer
        // than the 20 s in which a token comes back, and the test must not depend on that.
        let fixture = try await Fixture(limits: { $0.perPrincipalPerMinute["auditor"] = 3 }, limiter: RateLimiter(clock: { 0 }))
        defer { fixture.close() }
        let first = try await fixture.bearer("audit-1", .auditor)
        let second = try await fixture.bearer("audit-2", .auditor)
        try await fixture.app.test(.router) { client in
            for _ in 0..<3 { try await client.execute(uri: "/v1/entries/0", method: .get, headers: first) { #expect($0.status != .tooManyRequests) } }
            try await client.execute(uri: "/v1/entries/0", method: .get, headers: first) { response in
                #expect(response.status == .tooManyRequests && ServiceTests.type(response) == "rateLimited")
                // One token comes back every 20 s at 3 per minute.
                #expect((1...20).contains(Int(response.headers[.retryAfter] ?? "") ?? 0))
            }
            try await client.execute(uri: "/v1/entries/0", method: .get, headers: second) { #expect($0.status != .tooManyRequests) }
        }
    }

    @Test func theBucketRefillsAtItsRate() {
        final class Clock: @unchecked Sendable { var now: Int64 = 0 }
        let clock = Clock()
        let limiter = RateLimiter(clock: { clock.now })
        for _ in 0..<60 { #expect(limiter.take("a", perMinute: 60) == nil) }
        #expect(limiter.take("a", perMinute: 60) == 1)
        clock.now += 1_000_000
        #expect(limiter.take("a", perMinute: 60) == nil)
        #expect(limiter.take("a", perMinute: 60) != nil)
        clock.now += 120_000_000
        for _ in 0..<60 { #expect(limiter.take("a", perMinute: 60) == nil) }
        #expect(limiter.take("a", perMinute: 60) != nil, "a bucket holds at most a minute's worth")
    }

    @Test func everyResponseCarriesTheTraceIDOfAValidTraceparentOrANewOne() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            let given = "4bf92f3577b34da6a3ce929d0e0e4736"
            try await client.execute(uri: "/health/live", method: .get, headers: [.init("traceparent")!: "00-\(given)-00f067aa0ba902b7-01"]) { response in
                #expect(response.headers[.init("X-Trace-ID")!] == given)
                #expect(response.headers[.init("traceparent")!]?.hasPrefix("00-\(given)-") == true)
            }
            // A trace id that would carry a NIK (or any run of 10+ digits) into the log is not
            // continued: the service draws its own.
            let carrier = "3174011234560001" + String(repeating: "0", count: 16)
            try await client.execute(uri: "/health/live", method: .get, headers: [.init("traceparent")!: "00-\(carrier)-00f067aa0ba902b7-01"]) { response in
                let id = response.headers[.init("X-Trace-ID")!] ?? ""
                #expect(id.count == 32 && id != carrier && PIIFormats.isLogSafe(id))
            }
            // Errors carry it too; a malformed traceparent is replaced, not echoed.
            try await client.execute(uri: "/v1/entries/0", method: .get, headers: [.init("traceparent")!: "00-XYZ-bad"]) { response in
                #expect(response.status == .unauthorized)
                let id = response.headers[.init("X-Trace-ID")!] ?? ""
                #expect(id.count == 32 && id.allSatisfy(\.isHexDigit) && id != given)
            }
        }
    }

    @Test func metricsExposeClaimLatencyLedgerStateAndFoodRescued() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let provider = try await fixture.bearer("site-jkt-1", .provider)
        try await fixture.app.test(.router) { client in
            try await ServiceTests.registerCity(client, fixture)
            let offer = try await client.execute(uri: "/v1/surplus", method: .post, headers: provider, body: ServiceTests.surplusBody(portions: 3)) {
                ServiceTests.json($0)["offer"] as? String ?? ""
            }
            let recipient = try #require(fixture.loop.read { $0.matches.matches[offer]?.offeredTo })
            let claimed = try await client.execute(uri: "/v1/matches/\(offer)/accept", method: .post, headers: try await fixture.bearer(recipient, .recipient)) {
                ServiceTests.json($0)
            }
            let claim = claimed["claim"] as? String ?? ""
            _ = try await client.execute(
                uri: "/v1/claims/\(claim)/pickup", method: .post, headers: provider,
                body: ByteBuffer(string: #"{"pickupCode":"\#(claimed["pickupCode"] as? String ?? "")","grams":1260}"#)) { $0.status }
            _ = try await client.execute(
                uri: "/v1/claims/\(claim)/delivery", method: .post, headers: try await fixture.bearer(recipient, .recipient),
                body: ByteBuffer(string: #"{"portionsServed":3}"#)) { $0.status }
            let text = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            for name in [
                "surplus_claim_latency_seconds_count 1", "ledger_append_latency_seconds_count", "ledger_entries", "ledger_checkpoint_age_seconds", "matching_engine_saturation_ratio",
                "food_waste_prevented_tons_total",
            ] {
                #expect(text.contains(name), "\(name) missing")
            }
            #expect(text.contains("ledger_entries \(fixture.loop.ledger.size)"))
            #expect(text.contains("food_waste_prevented_tons_total 0.00126"), "1,260 g delivered")
            // Requests by route, method and status (RequestMetricsMiddleware), refusals too.
            _ = try await client.execute(uri: "/v1/surplus", method: .post, headers: provider, body: ByteBuffer(string: "{")) { $0.status }
            let after = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            for line in [
                #"hb_requests{http_route="/v1/surplus",http_request_method="POST",http_response_status_code="201"} 1"#,
                #"hb_requests{http_route="/v1/surplus",http_request_method="POST",http_response_status_code="400"} 1"#,
                #"hb_request_errors{http_route="/v1/surplus",http_request_method="POST",error_type="400"} 1"#,
                #"http_server_request_duration_count{http_route="/v1/claims/{claim}/pickup",http_request_method="POST",http_response_status_code="200"} 1"#,
                #"http_server_active_requests{http_request_method="POST"} 0"#,
            ] {
                #expect(after.contains(line), "\(line) missing")
            }
        }
    }

    final class CapturedLines: @unchecked Sendable { var lines: [String] = [] }

    /// A logger through the masking handler under the project's masking policy, and the lines it wrote.
    static func capturedLog() throws -> (Logger, CapturedLines) {
        let lines = CapturedLines()
        let handler = MaskingLogHandler(label: "test") {
            lines.lines.append(String(decoding: $0, as: UTF8.self))
        }
        return (Logger(label: "test", factory: { _ in handler }), lines)
    }

    /// The request log times a request from its arrival: a stamp 30 ms old is 30 ms of
    /// `queued_us` and `duration_us` (the router test sends the stamp as a header, as
    /// `ArrivalStamp` would have written it).
    @Test func requestsAreTimedFromTheirArrival() async throws {
        let (logger, lines) = try Self.capturedLog()
        let fixture = try await Fixture(logger: logger)
        defer { fixture.close() }
        let begun = DispatchTime.now().uptimeNanoseconds
        try await fixture.app.test(.router) { client in
            let arrived = DispatchTime.now().uptimeNanoseconds - 30_000_000
            try await client.execute(uri: "/health/live", method: .get, headers: [ArrivalStamp.field: String(arrived)]) { #expect($0.status == .ok) }
            // A stamp from the future, or not a number, is not one this process wrote: the trace's start stands in.
            try await client.execute(uri: "/health/live", method: .get, headers: [ArrivalStamp.field: String(UInt64.max)]) { #expect($0.status == .ok) }
        }
        let logged = try lines.lines.filter { $0.contains("\"request\"") }.map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return (queued: Int(object["queued_us"] as? String ?? "") ?? -1, duration: Int(object["duration_us"] as? String ?? "") ?? -1)
        }
        // Bounded by the test's own time (a loaded machine may queue a request for seconds).
        let elapsed = Int((DispatchTime.now().uptimeNanoseconds - begun) / 1000)
        try #require(logged.count == 2, "\(lines.lines)")
        #expect(logged[0].queued >= 30_000 && logged[0].duration >= logged[0].queued && logged[0].duration <= elapsed + 30_000, "\(logged)")
        #expect(logged[1].queued == 0 && logged[1].duration >= 0 && logged[1].duration <= elapsed, "\(logged)")
    }

    /// Over a live connection the stamp is the server's own: a client's forged one is replaced,
    /// and requests pipelined behind others are logged with the time they waited.
    @Test func aClientCannotForgeItsArrivalAndPipelinedRequestsCountTheirWait() async throws {
        let (logger, lines) = try Self.capturedLog()
        let fixture = try await Fixture(logger: logger)
        defer { fixture.close() }
        let begun = DispatchTime.now().uptimeNanoseconds
        try await Service.application(router: fixture.service.router()).test(.live) { client in
            let port = try #require(client.port)
            let socket = try RawHTTP(port: port)
            let request = "GET /health/live HTTP/1.1\r\nHost: x\r\nPahlawan-Arrival-Ns: 1\r\n\r\n"
            try socket.send(String(repeating: request, count: 39) + request.replacingOccurrences(of: "Host: x", with: "Host: x\r\nConnection: close"))
            let answers = try await socket.receiveUntilClosed()
            #expect(answers.components(separatedBy: "HTTP/1.1 200").count == 41, "\(answers.prefix(300))")
        }
        let logged = try lines.lines.filter { $0.contains("\"request\"") }.map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return (queued: Int(object["queued_us"] as? String ?? "") ?? -1, duration: Int(object["duration_us"] as? String ?? "") ?? -1)
        }
        let elapsed = Int((DispatchTime.now().uptimeNanoseconds - begun) / 1000)
        try #require(logged.count == 40, "\(lines.lines.prefix(3))")
        // Stamped when decoded, not taken from the client: timed from 1 ns after boot, a
        // request would outlast the test.
        #expect(logged.allSatisfy { $0.queued >= 0 && $0.duration >= $0.queued && $0.duration <= elapsed }, "\(logged)")
        // The last waited for those before it on the connection.
        #expect(logged.last!.queued > logged.first!.queued, "\(logged)")
    }

    /// The request middleware writes its line directly to the service's masking handler, and
    /// through swift-log when the logger carries metadata of its own: both lines hold the same
    /// request members, masked alike, the second also the logger's metadata.
    @Test func requestLinesAreTheSameDirectlyOrThroughSwiftLog() async throws {
        var members: [[String: String]] = []
        for tagged in [false, true] {
            var (logger, lines) = try Self.capturedLog()
            if tagged { logger[metadataKey: "node"] = "jkt-2" }
            let fixture = try await Fixture(logger: logger)
            defer { fixture.close() }
            try await fixture.app.test(.router) { client in
                _ = try await client.execute(uri: "/v1/entries/0812345678901", method: .get) { $0.status }
            }
            let line = try #require(lines.lines.first { $0.contains("\"request\"") })
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
            #expect(object["node"] == (tagged ? "jkt-2" : nil))
            members.append(object.filter { !["time", "trace_id", "duration_us", "queued_us", "node"].contains($0.key) })
        }
        #expect(members[0] == members[1])
        let path = try #require(members[0]["path"])
        #expect(path.hasPrefix("/v1/entries/") && !path.contains("0812345678901") && members[0]["route"] == "/v1/entries/{seq}", "\(members[0])")
        #expect(members[0]["status"] == "401" && members[0]["method"] == "GET" && members[0]["message"] == "request", "\(members[0])")
    }

    /// A handler failing with an error that is not an HTTP answer (a bug, an I/O failure) gets
    /// 500 `internalError` as problem+json with its trace id, and the request is logged, the
    /// error beside it masked; Hummingbird alone answered a bare 500, unlogged and untraced.
    @Test func anUnexpectedErrorIsAProblemWithATraceIDAndIsLogged() async throws {
        struct Broke: Error, CustomStringConvertible { var description: String { "disk said no to 0812-3456-7890" } }
        let (logger, lines) = try Self.capturedLog()
        let router = Router(context: ServiceContext.self)
        router.add(middleware: TraceMiddleware(logger: logger))
        router.get("/broken") { _, _ -> String in throw Broke() }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/broken", method: .get) { response in
                #expect(response.status == .internalServerError)
                #expect(response.headers[.contentType] == "application/problem+json")
                let traceID = try #require(response.headers[.traceID])
                #expect(ServiceTests.json(response)["type"] as? String == "https://pahlawan-pangan.id/problems/internalError")
                let request = try #require(lines.lines.first { $0.contains("\"request\"") })
                #expect(request.contains("\"status\":\"500\"") && request.contains(traceID), "\(request)")
                let failure = try #require(lines.lines.first { $0.contains("request failed") })
                #expect(failure.contains(traceID) && !failure.contains("3456-7890"), "\(failure)")
            }
        }
    }

    @Test func logLinesAreJSONWithPersonalDataMaskedWhoeverLoggedIt() throws {
        var (logger, lines) = try Self.capturedLog()
        logger[metadataKey: "caller"] = "budi.santoso@example.id"
        logger.info("courier called +62 812-3456-7889 about NIK 3174011203900001", metadata: ["trace_id": "abc"])
        let line = try #require(lines.lines.first)
        #expect(line.hasSuffix("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["message"] as? String == "courier called +62 812-****-**89 about NIK 317401******0001")
        #expect(object["caller"] as? String == "b***@example.id" && object["trace_id"] as? String == "abc" && object["level"] as? String == "info")
    }

    /// A log line is canonical JSON (JCS: members in UTF-16 order, minimal escapes), whatever
    /// the keys and values hold, and metadata cannot replace the line's own members.
    @Test func logLinesAreCanonicalJSONAndKeepTheirOwnMembers() throws {
        var (logger, lines) = try Self.capturedLog()
        logger[metadataKey: "zeta"] = "handler's"
        logger.warning(
            "quote \" backslash \\ tab \t bell \u{07} é 😀",
            metadata: ["level": "forged", "time": "forged", "message": "forged", "label": "forged", "Ünïcode \u{1F600}": "\u{0}\n", "a": "1", "zeta": "event's"])
        let line = try #require(lines.lines.first)
        let bytes = Array(line.utf8.dropLast())
        let parsed = try CanonicalJSON.parse(bytes)
        #expect(CanonicalJSON.encode(parsed) == bytes, "\(line)")
        guard case .object(let members) = parsed else { Issue.record("not an object"); return }
        #expect(members["level"] == .string("warning") && members["label"] == .string("test"))
        #expect(members["message"] == .string("quote \" backslash \\ tab \t bell \u{07} é 😀"))
        #expect(members["zeta"] == .string("event's") && members["Ünïcode \u{1F600}"] == .string("\u{0}\n"))
        guard case .string(let time)? = members["time"] else { Issue.record("no time"); return }
        #expect(time.count == 24 && time.hasSuffix("Z") && time != "forged")
    }

    /// A trace id is 32 lowercase ASCII hex digits with no run of 10+ decimal digits: fullwidth
    /// digits (which `isHexDigit` takes), capitals and a hex id carrying a NIK are refused, so the
    /// service draws its own.
    @Test func traceIDsAreLowercaseASCIIHexOnly() {
        let given = "4bf92f3577b34da6a3ce929d0e0e4736"
        #expect(TraceParent.traceID("00-\(given)-00f067aa0ba902b7-01") == given)
        for refused in ["00-３１７４０１２３４５６７０００１0812345678901234-00f067aa0ba902b7-01", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-\(given)-00f067aa0ba902b７-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "ff-\(given)-00f067aa0ba902b7-01",
            "00-3174011234560001abcdefabcdefabcd-00f067aa0ba902b7-01"]
        {
            #expect(TraceParent.traceID(refused) == nil, "\(refused)")
        }
        // The ids the service draws pass the log masking whole, so sent back they are continued.
        for _ in 0..<500 {
            let drawn = TraceParent.draw().traceID
            #expect(drawn.count == 32 && PIIFormats.isLogSafe(drawn) && TraceParent.traceID("00-\(drawn)-00f067aa0ba902b7-01") == drawn)
        }
    }

    /// Only a value the service drew or checked itself skips the masking; the same text from a
    /// caller is masked, including a long run of digits no pattern names.
    @Test func onlyServiceMadeLogValuesSkipTheMasking() throws {
        let (logger, lines) = try Self.capturedLog()
        let digits = "3174011203900001abcdef0123456789"
        logger.info("request", metadata: ["made": .stringConvertible(ServiceMadeLogValue(digits)), "sent": "\(digits)"])
        let line = try #require(lines.lines.first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["made"] as? String == digits)
        #expect(object["sent"] as? String == "317401******0001abcdef##########")
    }

    /// Personal data disguised the ways a hostile caller would (grouped, percent-encoded, in
    /// other scripts' digits, inside a longer number) does not reach a log line; ordinary paths,
    /// times and short numbers come through as written.
    @Test func disguisedPersonalDataIsMaskedInLogLines() {
        let cases: [(String, String)] = [
            ("/v1/subjects/3174-0112-3456-0001", "/v1/subjects/####-####-####-####"),
            ("/v1/x/317401-123456-0001", "/v1/x/######-######-####"),
            ("nik 3174.0112.3456.0001", "nik ####.####.####.####"),
            ("/v1/x/%33%31%37%34%30%31%31%32%30%33%39%30%30%30%30%31", "/v1/x/317401******0001"),
            ("/v1/x/budi%40example.id", "/v1/x/b***@example.id"),
            ("/v1/x/%2533%2531%2537%2534011203900001", "/v1/x/317401******0001"),
            ("trace 31740112345600010000000000000000", "trace ################################"),
            ("call ０８１２３４５６７８９０", "call " + String(repeating: "#", count: 12)),
            ("call 0812 3456 7890", "call +62 812-****-**90"),
            ("tel 0\u{301}812345678901", "tel #\u{301}" + String(repeating: "#", count: 12)),
            // Invisible characters, other dashes and spaces, any punctuation, doubled
            // separators, bytes that are not text, digit forms: all still one run.
            ("/x/31740112%E2%80%8B03900001", "/x/########\u{200B}########"),
            ("/x/0812%E2%80%933456%E2%80%937890", "/x/####–####–####"),
            ("/x/0812,3456;7890", "/x/####,####;####"),
            ("/x/0812--3456//7890", "/x/####--####//####"),
            ("/x/31740112%FF03900001", "/x/########\u{FFFD}########"),
            ("/x/⁰⁸¹²³⁴⁵⁶⁷⁸⁹⁰", "/x/" + String(repeating: "#", count: 12)),
            ("12345 / 67890", "##### / #####"),
            // `%25` between groups: decoded once a run, decoded twice none (outside review).
            ("/nope/0812%253456%257890", "/nope/####%####%####"),
            ("/nope/12345%2567890", "/nope/#####%#####"),
            ("/nope/3174%%0312%%3456%%3456", "/nope/####%\u{03}##%###%###"),
        ]
        for (given, logged) in cases { #expect(PIIFormats.maskForLog(given) == logged, "\(given)") }
        for kept in ["/v1/entries/123456789/proof", "2026-12-03T05:07:09.042Z", "/v1/reports/csr/cmp-1?from=2026-01-01&to=2026-12-31",
            "/v1/x/a%20b", "4bf92f3577b34da6a3ce929d0e0e4736", "/tile/0/x001/x234/567", "caf%C3%A9 12345", "duration_us 1234567"]
        {
            #expect(PIIFormats.maskForLog(kept) == kept, "\(kept)")
        }
        // Twelve levels of encoding: past what the log decodes, so the value is not written.
        #expect(PIIFormats.maskForLog("/v1/%" + String(repeating: "25", count: 12) + "33") == "[masked: nested percent-encoding]")
        #expect(PIIFormats.maskForLog("/v1/%252533174011203900001") == "/v1/317401******0001")
    }

    /// Whatever mix of digits (any script), separators, letters and percent-encodings a value
    /// holds, its log form read back (as written and at every level of percent-decoding,
    /// invisible characters dropped) has no run of 10 or more digits whose groups are apart by
    /// at most 3 non-letters.
    @Test func noLogValueKeepsALongRunOfDigits() async {
        let pieces = [
            "0", "1", "3", "7", "9", "٣", "３", "०", " ", "-", ".", "/", "_", "a", "%33", "%2D", "%25", "%", "\u{301}", "*", "\u{200B}", "–",
            ",", "%FF", "%00", "\u{00A0}", "é", "\u{FEFF}", "%25", "%2", "%%", "%253",
        ]
        let run = try! Regex(#"\d(?:[^\p{L}\d]{0,3}\d){9}"#)
        await propertyCheck(count: 500, input: Gen.int(in: 0...(pieces.count - 1)).array(of: 0...40)) { picks in
            let value = picks.map { pieces[$0] }.joined()
            let logged = PIIFormats.maskForLog(value)
            // Read as written and decoded once, twice, … to the end: `%25` ahead of digits reads
            // differently at each level.
            for level in PIIFormats.percentDecodingLevels(logged) ?? [logged] {
                let readBack = String(String.UnicodeScalarView(
                    level.unicodeScalars.filter {
                        ![.nonspacingMark, .format, .enclosingMark, .spacingMark].contains($0.properties.generalCategory)
                    }))
                #expect(readBack.firstMatch(of: run) == nil, "\(value) logged as \(logged), read as \(readBack)")
            }
        }
    }

    /// The byte-level check that lets most log values skip the scalar-by-scalar masking agrees
    /// with it on every ASCII text: it says "a long run" exactly when the masking changes it.
    @Test func theASCIIFastPathAgreesWithTheScalarMasking() async {
        let pieces = ["0", "1", "9", "12345", " ", "-", ".", "/", "_", "@", "%", "a", "Z", "f", "#", "\t", "~", "[", "`", "{"]
        await propertyCheck(count: 2_000, input: Gen.int(in: 0...(pieces.count - 1)).array(of: 0...30)) { picks in
            let value = picks.map { pieces[$0] }.joined()
            let masked = PIIFormats.maskLongDigitRunsByScalars(value)
            #expect(PIIFormats.asciiHoldsLongDigitRun(value) == (masked != value), "\(value) → \(masked)")
            #expect(PIIFormats.maskLongDigitRuns(value) == masked, "\(value)")
        }
        #expect(PIIFormats.asciiHoldsLongDigitRun("31740112é") == nil)
    }

    /// A request's line written directly (`logRequest`, what every request logs) is byte for
    /// byte the line swift-log's `info("request", metadata:)` gives the same handler: whatever the
    /// method, path and route hold (personal data, percent-encodings, quotes, controls, other
    /// scripts) and durations either side of the 10 digits the masking starts at.
    @Test func theDirectRequestLineEqualsTheGenericOne() async {
        let handler = MaskingLogHandler(label: "pahlawan.http") { _ in }
        let pieces = [
            "/v1/entries/", "0812", "3456", "7890", "3174011203900001", "%2F", "%25", "%33", "budi@example.id", "\"", "\\", "\n", "\u{1}", "٣", "é", " ",
            "{seq}", "-", "unmatched", "GET", "PURGE", "?a=b", "\u{200B}",
        ]
        let text = Gen.int(in: 0...(pieces.count - 1)).array(of: 0...8).map { $0.map { pieces[$0] }.joined() }
        let number = Gen.oneOf(Gen.uint64(in: 0...2_000_000_000), Gen.uint64(in: 999_999_990...1_000_000_010), Gen.uint64(in: 0...UInt64.max))
        await propertyCheck(count: 1_000, input: text, text, text, Gen.int(in: 100...599), number, number, Gen.int64(in: 0...7_258_118_400_000_000)) {
            method, path, route, status, duration, queued, time in
            let traceID = TraceParent.draw().traceID
            let direct = handler.requestLine(
                MaskingLogHandler.RequestLine(
                    traceID: traceID, method: method, path: path, route: route, status: status, durationMicroseconds: duration, queuedMicroseconds: queued),
                time: time)
            let generic = handler.line(
                level: .info, message: "request",
                metadata: [
                    "trace_id": .stringConvertible(ServiceMadeLogValue(traceID)), "method": "\(method)", "path": "\(path)", "route": "\(route)",
                    "status": "\(status)", "duration_us": "\(duration)", "queued_us": "\(queued)",
                ], time: time)
            #expect(direct == generic, "\(String(decoding: direct, as: UTF8.self)) ≠ \(String(decoding: generic, as: UTF8.self))")
        }
        // The service's logger writes requests directly; one with metadata of its own does not.
        #expect(handler.writesRequestLines)
        var tagged = handler
        tagged[metadataKey: "node"] = "a"
        #expect(!tagged.writesRequestLines)
    }

    /// The log line's integer-built time equals Foundation's RFC 3339 formatting with
    /// milliseconds, across leap days, century years and the epoch.
    @Test func logTimesEqualFoundationsFormatting() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        let fixed: [Int64] = [0, 999, 1_000, 59_999_999, 951_782_400_000_000, 951_868_799_999_000, 1_709_164_800_123_000, 4_107_542_400_000_000, 1_796_255_999_999_999]
        var random = SystemRandomNumberGenerator()
        for micros in fixed + (0..<2_000).map({ _ in Int64.random(in: 0...7_258_118_400_000_000, using: &random) }) {
            // Foundation rounds to the millisecond from a Double; compare at whole milliseconds.
            let whole = micros / 1_000 * 1_000
            let expected = formatter.string(from: Date(timeIntervalSince1970: Double(whole / 1_000) / 1_000))
            #expect(MaskingLogHandler.timestamp(microseconds: whole) == expected, "\(whole)")
        }
    }

    @Test func onlyJSONContentTypesAreJSON() {
        for accepted in ["application/json", "Application/JSON", "application/json; charset=utf-8", "application/json;charset=UTF-8", " application/json\t; charset=\"utf-8\" "] {
            #expect(RequestBodies.isJSON(accepted), "\(accepted)")
        }
        for refused in ["", "application/json5", "application/jsonp", "text/json", "application/json;", "application/json; charset=latin1", "application/json; charset=utf-8; x=y", "application/x-www-form-urlencoded", "application/json, text/plain", "applicatıon/json"] {
            #expect(!RequestBodies.isJSON(refused), "\(refused)")
        }
    }

    /// A client that sends half a body and stalls is answered 503 `requestTimedOut` after the
    /// timeout; while it stalls it holds the only admission slot, so another request gets 503
    /// `overloaded` at once.
    @Test func aStalledRequestTimesOutAndHoldsItsAdmissionSlotUntilThen() async throws {
        let fixture = try await Fixture(limits: {
            $0.requestTimeoutSeconds = 1
            $0.concurrentRequestsMax = 1
        })
        defer { fixture.close() }
        let token = try await fixture.authority.mint(subject: "op-1", role: .operator)
        try await fixture.app.test(.live) { client in
            let port = try #require(client.port)
            let partial = "POST /v1/participants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"id\":"
            // A probe in flight when the stalled request arrives takes the slot and the stalled
            // one is refused instead; so start a stalled request again until a probe finds the
            // slot held by it (the probe is refused `overloaded` while the stalled one is unanswered).
            var admitted: RawHTTP?
            var refused = ""
            for _ in 0..<20 where admitted == nil {
                let stalled = try RawHTTP(port: port)
                try stalled.send(partial)
                for _ in 0..<10 {
                    try await Task.sleep(for: .milliseconds(20))
                    if stalled.hasAnswer() { break }
                    let other = try RawHTTP(port: port)
                    try other.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
                    refused = try await other.receive()
                    if refused.contains("overloaded") && !stalled.hasAnswer() {
                        admitted = stalled
                        break
                    }
                }
            }
            #expect(refused.hasPrefix("HTTP/1.1 503") && refused.contains("overloaded"), "\(refused.prefix(200))")
            let stalled = try #require(admitted)
            let timedOut = try await stalled.receive()
            #expect(timedOut.hasPrefix("HTTP/1.1 503") && timedOut.contains("requestTimedOut"), "\(timedOut.prefix(200))")
        }
        #expect(fixture.loop.read { $0.participants.participants.isEmpty })
    }

    /// The one timer behind every request's deadline: a body past its deadline is cancelled
    /// and answered `timedOut` (also if it ignores the cancellation and returns a value), one
    /// within it is untouched, and nothing stays registered after either.
    @Test func requestDeadlinesCancelOnlyWhatIsLateAndForgetEveryRequest() async throws {
        struct TimedOut: Error {}
        let deadlines = RequestDeadlines()
        let sawCancellation = Atomic<Bool>(false)
        // In a child task, as the middleware runs it: the deadline cancels the task it runs in.
        let late = Task {
            try await deadlines.run(seconds: 1, timedOut: TimedOut()) {
                do {
                    try await Task.sleep(for: .seconds(30))
                } catch is CancellationError {
                    sawCancellation.store(true, ordering: .relaxed)
                }
                return 1
            }
        }
        await #expect(throws: TimedOut.self) { try await late.value }
        let cancelled = sawCancellation.load(ordering: .relaxed)
        // Cancelled, not slept out: the timer reached it (how soon it then runs again depends on
        // the other tests sharing the thread pool, so the elapsed time is not asserted).
        #expect(cancelled)
        let answers = try await withThrowingTaskGroup(of: Int.self) { group in
            for number in 0..<200 { group.addTask { try await deadlines.run(seconds: 5, timedOut: TimedOut()) { number } } }
            return try await group.reduce(0, +)
        }
        #expect(answers == (0..<200).reduce(0, +))
        #expect(deadlines.pendingCount == 0)
        await #expect(throws: CancellationError.self) {
            try await deadlines.run(seconds: 5, timedOut: TimedOut()) { throw CancellationError() }
        }
        #expect(deadlines.pendingCount == 0)
    }
}

/// A bare HTTP/1.1 client over a POSIX socket, for requests no well-behaved client sends.
struct RawHTTP: Sendable {
    let socket: Int32

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        // Generous: only a server that never answers should reach it, and the full suite can
        // keep a live server's handlers from a cooperative thread for many seconds.
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    /// Whether an answer (or the peer's close) is waiting to be read, without waiting.
    func hasAnswer() -> Bool {
        var byte: UInt8 = 0
        return recv(socket, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) >= 0
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard Glibc.send(socket, bytes, bytes.count, 0) == bytes.count else { throw POSIXError(.EPIPE) }
    }

    /// What arrives until the peer pauses (or closes), read on a thread of its own: a blocking
    /// `recv` on one of the few cooperative threads could starve the server under test.
    func receive() async throws -> String {
        try await onOwnThread { try receiveBlocking() }
    }

    /// Everything that arrives until the peer closes the connection.
    func receiveUntilClosed() async throws -> String {
        try await onOwnThread {
            var received = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 16_384)
            while true {
                let count = recv(socket, &buffer, buffer.count, 0)
                guard count > 0 else { break }
                received += buffer.prefix(count)
            }
            return String(decoding: received, as: UTF8.self)
        }
    }

    private func receiveBlocking() throws -> String {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        let count = recv(socket, &buffer, buffer.count, 0)
        guard count > 0 else { throw POSIXError(.ETIMEDOUT) }
        return String(decoding: buffer.prefix(count), as: UTF8.self)
    }
}

/// Runs blocking socket work on a new thread: neither a cooperative thread (which it would
/// hold from the servers under test) nor Dispatch's pool (which a busy suite can also keep
/// waiting), so its waits are timed by the kernel alone.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
