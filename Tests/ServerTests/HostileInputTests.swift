import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
@testable import Server
import Testing

/// Issue 13, the HTTP boundary: each test names the hostile request it answers and fails on
/// the code before the fix (a trap, a 5xx, a silently accepted input or a connection kept open).
@Suite struct HostileInputTests {
    typealias Fixture = ServiceTests.Fixture

    static func type(_ response: TestResponse) -> String { ServiceTests.type(response) }

    // MARK: Integer overflow on query and path values (a trap is a denial of service)

    /// `until=Int64.max` made `until + 1` trap and killed the process.
    @Test func anEntryListingUntilInt64MaxIsAnsweredNotATrap() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        _ = try await fixture.loop.ledger.checkpoint()
        let auditor = try await fixture.bearer("audit-1", .auditor)
        try await fixture.app.test(.router) { client in
            for query in ["until=9223372036854775807", "since=9223372036854775807", "cursor=9223372036854775807&until=9223372036854775807"] {
                try await client.execute(uri: "/v1/entries?\(query)", method: .get, headers: auditor) { response in
                    #expect(response.status == .ok, "\(query): \(String(buffer: response.body))")
                }
            }
            try await client.execute(uri: "/v1/entries?until=9223372036854775808", method: .get, headers: auditor) { response in
                #expect(response.status == .badRequest && Self.type(response) == "malformedRequest")
            }
        }
    }

    /// Tile indexes whose value overflowed 64 bits (`index * 1000`) or whose first entry did
    /// (`index * 256`) trapped without any token; now they are no tile.
    @Test func tilePathsWithHugeIndexesAreNotFoundNotATrap() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            for path in [
                "/tile/0/x999/x999/x999/x999/x999/x999/999", "/tile/entries/x100/x000/x000/x000/x000/000",
                "/tile/entries/x018/x446/x744/x073/x709/x551/615", "/tile/entries/x072/x057/x594/x037/x927/935.p/255",
                "/tile/3/x018/x446/x744/x073/x709/x551/615.p/7",
            ] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect([.badRequest, .notFound].contains(response.status), "\(path)")
                    #expect(response.headers[.contentType] == "application/problem+json", "\(path)")
                }
            }
        }
    }

    /// Report parameters are echoed in JSON and computed with: beyond ±(2^53 − 1) they are a
    /// named 400, not a number JSON readers change or arithmetic that overflows.
    @Test func reportParametersBeyondTheJSONIntegerDomainAreNumberOutOfRange() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        _ = try await fixture.loop.ledger.checkpoint()
        let auditor = try await fixture.bearer("audit-1", .auditor)
        try await fixture.app.test(.router) { client in
            for uri in [
                "/v1/reports/tax/cmp-1?year=2026&priorYearNetIncomeRupiah=9223372036854775807",
                "/v1/reports/csr/cmp-1?until=9007199254740992", "/v1/reports/csr/cmp-1?from=-99999999999999999999",
            ] {
                try await client.execute(uri: uri, method: .get, headers: auditor) { response in
                    #expect(response.status == .badRequest && Self.type(response) == "numberOutOfRange", "\(uri)")
                    #expect((ServiceTests.json(response)["detail"] as? String)?.contains(uri.contains("Rupiah") ? "priorYearNetIncomeRupiah" : uri.contains("until") ? "until" : "from") == true)
                }
            }
        }
    }

    // MARK: Tokens

    /// A token "issued" ten years ahead passed (only exp − iat was bounded), and so did one
    /// whose `nbf` is in the future.
    @Test func tokensIssuedOrValidOnlyInTheFutureAreInvalid() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let tenYears = Date().addingTimeInterval(10 * 365 * 24 * 3600)
        let future = try await fixture.authority.mint(subject: "audit-1", role: .auditor, lifetime: 600, now: tenYears)
        let notYet = try await fixture.authority.mint(subject: "audit-1", role: .auditor, lifetime: 600, notBefore: Date().addingTimeInterval(300))
        let skewed = try await fixture.authority.mint(subject: "audit-1", role: .auditor, lifetime: 600, now: Date().addingTimeInterval(30))
        await #expect(throws: AuthError.self) { try await fixture.authority.principal(fromBearer: future) }
        await #expect(throws: AuthError.self) { try await fixture.authority.principal(fromBearer: notYet) }
        // Within the allowed clock skew: still good.
        #expect(try await fixture.authority.principal(fromBearer: skewed) == Principal(subject: "audit-1", role: .auditor))
        try await fixture.app.test(.router) { client in
            for (token, reason) in [(future, "issued in the future"), (notYet, "not valid yet")] {
                try await client.execute(uri: "/v1/entries", method: .get, headers: [.authorization: "Bearer " + token]) { response in
                    #expect(response.status == .unauthorized && Self.type(response) == "invalidToken")
                    #expect((ServiceTests.json(response)["detail"] as? String)?.contains(reason) == true, "\(String(buffer: response.body))")
                }
            }
        }
    }

    // MARK: Connections (slowloris, idle, declared lengths)

    /// A client trickling its request head one byte at a time, and one that sends nothing,
    /// are both closed by the server after the head deadline (here 1 s); before, 2,000 of
    /// them stayed open.
    @Test func slowHeaderAndIdleConnectionsAreClosedAtTheHeadDeadline() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let app = Service.application(router: fixture.service.router(), requestHeadSeconds: 1)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let slow = try LoopbackSocket(port: port)
            let idle = try LoopbackSocket(port: port)
            let head = Array("GET /health/live HTTP/1.1\r\nHost: x\r\nX-Padding: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 100)
            // Trickled and watched from threads of their own: the server closes from its event
            // loop threads, but a test waiting with `Task.sleep` waits for a cooperative thread,
            // and the full suite's CPU-bound tests hold those for seconds at a time.
            async let slowClosedAfter = onOwnThread { slow.trickle(head, everyMilliseconds: 200, givingUpAfterSeconds: 20) }
            async let idleClosedAfter = onOwnThread { idle.closedByPeerAfter(waitingAtMostSeconds: 20) }
            // Closed at the 1 s deadline; 150 bytes at 200 ms would keep it open for 30 s.
            #expect(try await slowClosedAfter != nil, "a slow-header connection stayed open for 20 s")
            #expect(try await idleClosedAfter != nil, "an idle connection stayed open for 20 s")
            // The server still answers a well-behaved client (on a new connection: the test
            // client's own one sat idle past the deadline too).
            let prompt = try RawHTTP(port: port)
            try prompt.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = try await prompt.receive()
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(200))")
        }
    }

    /// Bytes that are not HTTP/1.1 get a problem+json naming what the parser refused (with a
    /// trace id and a date, like every answer), after the answers owed to the requests before
    /// them on the connection, and the connection closes; a head over the decoder's limits is
    /// 431 `headersTooLarge`. A bad body on a write route is the same `malformedHTTP`. Bad bytes
    /// in the body of a request already answered get no second answer: the connection closes.
    /// A request without exactly one Host header is refused the same way. Before, each was a
    /// bare 400 (a bad body after an answer was a second answer, and a missing Host was served).
    @Test func bytesThatAreNotHTTPGetAProblemAndTheConnectionCloses() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let token = try await fixture.authority.mint(subject: "op-1", role: .operator)
        try await Service.application(router: fixture.service.router()).test(.live) { client in
            let port = try #require(client.port)
            let live = "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
            let badChunk = "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"id\"\r\nzz\r\n"
            let cases: [(request: String, status: String?, type: String, detail: String, answersBefore: [String])] = [
                ("GARBAGE\r\n\r\n", "400", "malformedHTTP", "invalid", []),
                ("GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", "400", "malformedHTTP", "content-length", []),
                ("GET /health/live HTTP/1.1\r\nHost: x\r\nX-Bad\u{1}: y\r\n\r\n", "400", "malformedHTTP", "header", []),
                (live + live + "GET / HTTP/9.9.9\r\n\r\n", "400", "malformedHTTP", "version", ["200", "200"]),
                ("GET /health/live HTTP/1.1\r\nHost: x\r\nX-Padding: " + String(repeating: "a", count: 90 * 1024) + "\r\n\r\n", "431", "headersTooLarge", "80 kb", []),
                ("GET /health/live HTTP/1.1\r\nHost: x\r\n" + (0..<1000).map { "X-H\($0): v\r\n" }.joined() + "\r\n", "431", "headersTooLarge", "1,000 header fields", []),
                // RFC 9112 §3.2: exactly one Host; nothing after the refused head is read.
                ("GET /health/live HTTP/1.1\r\n\r\n" + live, "400", "malformedHTTP", "no host header", []),
                (live + "GET /health/live HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "400", "malformedHTTP", "more than one host", ["200"]),
                ("POST /v1/participants HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello" + live, "400", "malformedHTTP", "no host header", []),
                // The route reads the body: its answer is the problem.
                ("POST /v1/participants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\n" + badChunk,
                 "400", "malformedHTTP", "chunk size", []),
                // Answered before its body was read (a probe, an unsigned claim): no second answer.
                (live + "GET /health/live HTTP/1.1\r\nHost: x\r\n" + badChunk, nil, "", "", ["200", "200"]),
                ("POST /v1/claims HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + badChunk, nil, "", "", ["401"]),
            ]
            for item in cases {
                let socket = try RawHTTP(port: port)
                try socket.send(item.request)
                let answer = try await socket.receiveUntilClosed()
                let answers = Array(answer.components(separatedBy: "HTTP/1.1 ").dropFirst())
                let label = "\(item.request.prefix(60)): \(answer.prefix(600))"
                #expect(answers.count == item.answersBefore.count + (item.status == nil ? 0 : 1), "\(label)")
                // The answers owed before it arrive whole and in order.
                #expect(zip(answers, item.answersBefore).allSatisfy { $0.hasPrefix($1 + " ") }, "\(label)")
                guard let status = item.status else { continue }
                let last = try #require(answers.last, "\(label)")
                let head = last.lowercased()
                #expect(last.hasPrefix(status + " "), "\(last.prefix(300))")
                #expect(head.contains("content-type: application/problem+json") && head.contains("connection: close"), "\(last.prefix(300))")
                #expect(head.contains("x-trace-id: ") && head.contains("traceparent: 00-") && head.contains("date: "), "\(last.prefix(300))")
                let body = try #require(last.range(of: "\r\n\r\n").map { String(last[$0.upperBound...]) })
                let problem = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], "\(body)")
                #expect(problem["type"] as? String == Problem.typeBase + item.type, "\(body)")
                #expect(problem["status"] as? Int == Int(status), "\(body)")
                #expect((problem["detail"] as? String)?.lowercased().contains(item.detail) == true, "\(body)")
                let length = last.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("content-length: ") }
                #expect(length.flatMap { Int($0.dropFirst(16)) } == body.utf8.count, "\(last.prefix(300))")
            }
            // Nothing was written by the refused participant.
            #expect(fixture.loop.read { $0.participants.participants.isEmpty })
            // The service still answers on a new connection (the test client's own may have
            // sat idle past the head deadline on a loaded machine).
            let prompt = try RawHTTP(port: port)
            try prompt.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = try await prompt.receive()
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(200))")
        }
    }

    /// A declared Content-Length over the body limit is 413 `bodyTooLarge` at once, from the
    /// header, without waiting for the body; before, it waited out the request timeout and
    /// answered 503.
    @Test func aDeclaredBodyOverTheLimitIsRefusedAtOnceWith413() async throws {
        let fixture = try await Fixture(limits: { $0.requestTimeoutSeconds = 3_600 })
        defer { fixture.close() }
        let token = try await fixture.authority.mint(subject: "op-1", role: .operator)
        try await fixture.app.test(.live) { client in
            let port = try #require(client.port)
            let raw = try RawHTTP(port: port)
            try raw.send(
                "POST /v1/participants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{")
            // Answered at all means answered at once: the body never comes, so a server that
            // waited for it would answer only at the request timeout (an hour), long after
            // `receive` gives up. No wall-clock bound: the full suite can starve the handler.
            let answer = try await raw.receive()
            #expect(answer.hasPrefix("HTTP/1.1 413") && answer.contains("bodyTooLarge") && answer.contains("application/problem+json"), "\(answer.prefix(300))")
        }
        #expect(AdmissionMiddleware.declares("99999999999999999999999", moreThan: 65_536))
        #expect(!AdmissionMiddleware.declares("65536", moreThan: 65_536) && !AdmissionMiddleware.declares("", moreThan: 1))
    }

    // MARK: Bodies

    /// Each hostile body gets its own 400 problem naming the field (before: big integers were
    /// 503 `ledgerUnavailable`, duplicate keys passed with the first value, fractions of whole
    /// numbers passed, nested unknown fields passed) and nothing is written.
    @Test func hostileBodiesGetNamedProblemsAndWriteNothing() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let operatorHeaders = try await fixture.bearer("op-1", .operator)
        let trader = try await fixture.bearer("cmp-1", .carbonTrader)
        let size = fixture.loop.ledger.size
        let site = #""id":"site-1","role":"site","company":"cmp-1","region":"ID-JK""#
        try await fixture.app.test(.router) { client in
            for (body, type, detail) in [
                (#"{\#(site),"latitude":9007199254740993,"longitude":1}"#, "numberOutOfRange", "latitude"),
                (#"{\#(site),"latitude":-9223372036854775808,"longitude":1}"#, "numberOutOfRange", "latitude"),
                (#"{\#(site),"latitude":1,"longitude":123456789012345678901234567890}"#, "numberOutOfRange", "longitude"),
                (#"{"id":"cmp-1","role":"company","region":"ID-JK","region":"ID-JI"}"#, "duplicateField", "region"),
                (#"{\#(site),"latitude":1.0,"longitude":1}"#, "wrongType", "latitude"),
                (#"{\#(site),"latitude":1e3,"longitude":1}"#, "wrongType", "latitude"),
                (#"{\#(site),"latitude":null,"longitude":1}"#, "wrongType", "latitude"),
                (#"{"id":"cmp-1","role":"company","region":["ID-JK"]}"#, "wrongType", "region"),
                (#"{"id":"cmp-1","role":"company","region":"ID-JK","acceptedCategories":["a",7]}"#, "wrongType", "acceptedCategories[1]"),
                (#"{"id":"cmp-1","role":"company","region":"ID-JK","acceptedCategories":"#, "malformedRequest", "ends too early"),
                (#"{"id":"cmp-1","role":"company","region":"ID-JK"} {}"#, "malformedRequest", "after the JSON value"),
                (#"{"id":"cmp-1","role":"company","region":"ID-\#u{1}JK"}"#, "malformedRequest", "control character"),
                (#"{"id":"cmp-1","role":"company","region":"\uD800"}"#, "malformedRequest", "surrogate"),
                (#"{"id":"cmp-1","role":"company","region":"ID-JK","acceptedCategories":"# + String(repeating: "[", count: 10_000), "malformedRequest", "nesting"),
                (#"{"id":01,"role":"company","region":"ID-JK"}"#, "malformedRequest", "leading zero"),
                ("[]", "malformedRequest", "JSON object"),
            ] {
                try await client.execute(uri: "/v1/participants", method: .post, headers: operatorHeaders, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .badRequest && Self.type(response) == type, "\(body.prefix(80)): \(String(buffer: response.body))")
                    #expect((ServiceTests.json(response)["detail"] as? String)?.contains(detail) == true, "\(body.prefix(80)): \(String(buffer: response.body))")
                }
            }
            // Invalid UTF-8 inside a string.
            var invalid = ByteBuffer(string: #"{"id":"cmp-1","role":"company","region":""#)
            invalid.writeBytes([0xC3, 0x28])
            invalid.writeString(#""}"#)
            try await client.execute(uri: "/v1/participants", method: .post, headers: operatorHeaders, body: invalid) { response in
                #expect(response.status == .badRequest && Self.type(response) == "malformedRequest")
                #expect((ServiceTests.json(response)["detail"] as? String)?.contains("UTF-8") == true)
            }
            // A nested object is as strict as its body: an unknown key in a serial range.
            let range = #"{"to":"cmp-2","range":{"vintage":2026,"first":1,"last":2,"owner":"cmp-9"}}"#
            try await client.execute(uri: "/v1/carbon/transfers", method: .post, headers: trader, body: ByteBuffer(string: range)) { response in
                #expect(response.status == .badRequest && Self.type(response) == "unknownField", "\(String(buffer: response.body))")
                #expect(ServiceTests.json(response)["detail"] as? String == "range.owner")
            }
            try await client.execute(
                uri: "/v1/carbon/transfers", method: .post, headers: trader, body: ByteBuffer(string: #"{"to":"cmp-2","range":{"vintage":2026,"first":1}}"#)
            ) { response in
                #expect(response.status == .badRequest && Self.type(response) == "missingField" && ServiceTests.json(response)["detail"] as? String == "range.last")
            }
        }
        #expect(fixture.loop.ledger.size == size)
    }

    /// POST bodies must say they are JSON: `curl -d` (form-encoded) and text/plain are 415
    /// `unsupportedMediaType`; JSON (with or without charset=utf-8) and an empty body pass.
    @Test func postBodiesThatAreNotDeclaredJSONAre415() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        let token = "Bearer " + (try await fixture.authority.mint(subject: "op-1", role: .operator))
        let size = fixture.loop.ledger.size
        try await fixture.app.test(.router) { client in
            let body = #"{"id":"cmp-1","role":"company","region":"ID-JK"}"#
            for contentType in ["application/x-www-form-urlencoded", "text/plain", "application/json; charset=latin-1", "application/jsonx", nil] {
                var headers: HTTPFields = [.authorization: token]
                if let contentType { headers[.contentType] = contentType }
                try await client.execute(uri: "/v1/participants", method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .unsupportedMediaType && Self.type(response) == "unsupportedMediaType", "\(contentType ?? "none")")
                }
            }
            #expect(fixture.loop.ledger.size == size)
            for (index, contentType) in ["application/json", "Application/JSON; charset=UTF-8"].enumerated() {
                let body = #"{"id":"cmp-\#(index)","role":"company","region":"ID-JK"}"#
                try await client.execute(uri: "/v1/participants", method: .post, headers: [.authorization: token, .contentType: contentType], body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .created, "\(contentType): \(String(buffer: response.body))")
                }
            }
            // No body at all (a route that takes none) needs no Content-Type.
            try await client.execute(uri: "/v1/claims/clm-none/cancel", method: .post, headers: [.authorization: token]) { response in
                #expect(response.status != .unsupportedMediaType, "\(String(buffer: response.body))")
            }
        }
    }

    // MARK: Routing

    /// Unknown routes were a bare 404 and wrong methods too; now 404 `routeNotFound` and 405
    /// `methodNotAllowed` with `Allow`, both problem+json.
    @Test func unknownRoutesAndMethodsGetProblems() async throws {
        let fixture = try await Fixture()
        defer { fixture.close() }
        try await fixture.app.test(.router) { client in
            for uri in ["/nope", "/v1/entriez", "/v1/entries/1/extra", "/v2/entries"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .notFound && Self.type(response) == "routeNotFound", "\(uri)")
                    #expect(response.headers[.contentType] == "application/problem+json")
                }
            }
            for (method, uri, allow) in [
                (HTTPRequest.Method.delete, "/v1/entries", "GET"), (.post, "/checkpoint", "GET"), (.put, "/v1/subjects/sub-1", "GET, DELETE"),
                (.get, "/v1/claims", "POST"), (.patch, "/tile/0/000", "GET"), (.head, "/health/live", "GET"),
            ] {
                try await client.execute(uri: uri, method: method, headers: [.contentType: "application/json"]) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                    #expect(response.headers[.allow] == allow, "\(method) \(uri)")
                    if method != .head { #expect(Self.type(response) == "methodNotAllowed") }
                }
            }
        }
    }
}

/// A raw loopback socket that never raises SIGPIPE and can tell whether the server closed it.
final class LoopbackSocket: Sendable {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(descriptor) }

    /// False once the peer has closed (EPIPE or ECONNRESET).
    func send(_ bytes: [UInt8]) -> Bool { Glibc.send(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count }

    /// Sends `bytes` one at a time, `everyMilliseconds` apart, until the server closes the
    /// connection (returning how long after the first byte) or `givingUpAfterSeconds` pass
    /// (nil). Blocks: run it on a thread of its own.
    func trickle(_ bytes: [UInt8], everyMilliseconds: Int, givingUpAfterSeconds: Int) -> Duration? {
        let started = ContinuousClock.now
        for byte in bytes {
            guard send([byte]), !isClosedByPeer() else { return ContinuousClock.now - started }
            usleep(useconds_t(everyMilliseconds * 1_000))
            if ContinuousClock.now - started > .seconds(givingUpAfterSeconds) { return nil }
        }
        return isClosedByPeer() ? ContinuousClock.now - started : nil
    }

    /// How long until the server closes the connection, waiting at most `waitingAtMostSeconds`
    /// (nil if it does not). Blocks: run it on a thread of its own.
    func closedByPeerAfter(waitingAtMostSeconds: Int) -> Duration? {
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(waitingAtMostSeconds) {
            var poll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            _ = Glibc.poll(&poll, 1, 100)
            if isClosedByPeer() { return ContinuousClock.now - started }
        }
        return nil
    }

    /// Whether the server has closed the connection (end of stream or reset), without waiting
    /// (a blocking wait on a cooperative thread could starve the server under test).
    func isClosedByPeer() -> Bool {
        var poll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard Glibc.poll(&poll, 1, 0) > 0 else { return false }
        var byte: UInt8 = 0
        let count = recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT))
        return count == 0 || (count < 0 && errno != EAGAIN)
    }
}
