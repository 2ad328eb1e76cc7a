#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Ledger
import Testing
import Witness

/// A minimal HTTP/1.1 client over a loopback socket, so a test sees exactly what the server
/// sent, including nothing at all (a server that died before answering).
enum LoopbackHTTP {
    struct Answer {
        let status: Int
        let headers: [String: String]
        let body: String
    }

    /// A port nobody listens on right now (bound to port 0, read, released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        try #require(bound == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Sends one request and reads until the server closes; nil when no status line came back
    /// (connection refused, reset, or closed without a response).
    static func request(port: Int, method: String, path: String, body: [UInt8] = []) -> Answer? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { return nil }
        let head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let bytes = Array(head.utf8) + body
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return nil }
            sent += count
        }
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += buffer[..<count]
        }
        let text = String(decoding: received, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return nil }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusFields = lines[0].split(separator: " ")
        guard statusFields.count >= 2, let status = Int(statusFields[1]) else { return nil }
        var headers = [String: String]()
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Answer(status: status, headers: headers, body: String(text[split.upperBound...]))
    }
}

/// The real `pahlawan witness` executable, killed between storing a checkpoint and answering:
/// what it stored is kept (it never answered, but it must never cosign anything inconsistent
/// with it either), and a client that retries is told where the witness stands.
@Suite struct CrashAfterStoreTests {
    static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pahlawan").path
    }

    /// A running `pahlawan witness serve`, stopped (SIGTERM) by `stop()` if still running.
    final class Server {
        let process = Process()
        let port: Int

        init(key: String, logKey: String, state: String, crashAfterStore: Bool) throws {
            port = try LoopbackHTTP.freePort()
            process.executableURL = URL(fileURLWithPath: CrashAfterStoreTests.executable)
            process.arguments = ["witness", "serve", "--key", key, "--log", logKey, "--state", state, "--port", String(port)]
            var environment = ProcessInfo.processInfo.environment
            environment["PAHLAWAN_WITNESS_CRASH_AFTER_STORE"] = crashAfterStore ? "1" : nil
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Ready when /health answers (at most 30 s on a loaded machine).
            let deadline = Date().addingTimeInterval(30)
            while LoopbackHTTP.request(port: port, method: "GET", path: "/health")?.status != 200 {
                guard process.isRunning else {
                    throw Failure(description: "the witness exited while starting (status \(process.terminationStatus))")
                }
                guard Date() < deadline else {
                    stop()
                    throw Failure(description: "the witness did not start listening on \(port)")
                }
                usleep(50_000)
            }
        }

        func post(_ body: [UInt8]) -> LoopbackHTTP.Answer? {
            LoopbackHTTP.request(port: port, method: "POST", path: "/add-checkpoint", body: body)
        }

        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func aCheckpointStoredBeforeACrashIsKeptAndNothingInconsistentIsCosignedAfter() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable), "build the pahlawan executable first: \(Self.executable)")
        let directory = Fixtures.makeTemporaryDirectory("witness-crash")
        let keyFile = directory + "/witness.key"
        let keygen = try Self.run(["witness", "keygen", "--name", "witness.example/crash", "--out", keyFile])
        try #require(keygen.status == 0, "keygen: \(keygen.output)")
        let witnessKey = try VerifierKey(text: keygen.output, type: .cosignature)
        #expect(try VerifierKey(text: String(contentsOfFile: keyFile + ".pub", encoding: .utf8), type: .cosignature) == witnessKey)
        let mode = (try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600, "the signing key file is private")
        let logKeyFile = directory + "/log.vkey"
        try (Fixtures.logKey.verifier.text + "\n").write(toFile: logKeyFile, atomically: true, encoding: .utf8)
        let state = directory + "/state"

        let (a, b) = (try TestLog(branch: "A", forkAt: 5), try TestLog(branch: "B", forkAt: 5))
        let note8 = try a.grow(to: 8)
        let forked8 = try b.grow(to: 8)
        let forked12 = try b.grow(to: 12)

        // 1. The crashing witness stores size 8 and dies before answering.
        let crashing = try Server(key: keyFile, logKey: logKeyFile, state: state, crashAfterStore: true)
        let lost = crashing.post(Fixtures.body(old: 0, note: note8))
        crashing.process.waitUntilExit()
        #expect(lost == nil, "the client saw no answer: \(String(describing: lost))")
        #expect(crashing.process.terminationReason == .exit && crashing.process.terminationStatus == 70, "the witness stopped at _exit(70)")

        // 2. Restarted normally (the log key given as text this time), it remembers size 8.
        let server = try Server(key: keyFile, logKey: Fixtures.logKey.verifier.text, state: state, crashAfterStore: false)
        defer { server.stop() }
        let retry = try #require(server.post(Fixtures.body(old: 0, note: note8)), "an answer")
        #expect(retry.status == 409, "resending with old 0: \(retry.status) \(retry.body)")
        #expect(retry.headers["content-type"] == "text/x.tlog.size")
        #expect(retry.body == "8\n", "the stored size, nothing lost")

        // 3. The client resends from that size: the same checkpoint is cosigned now.
        let cosigned = try #require(server.post(Fixtures.body(old: 8, note: note8)))
        #expect(cosigned.status == 200, "\(cosigned.status) \(cosigned.body)")
        let checked = try CheckedCosignature(cosigned.body, note: note8, key: witnessKey, now: UInt64(Date().timeIntervalSince1970))
        #expect(abs(Int64(checked.time) - Int64(Date().timeIntervalSince1970)) < 600, "the real clock's time")

        // 4. Nothing inconsistent with the stored checkpoint is cosigned.
        let fork = try #require(server.post(Fixtures.body(old: 8, note: forked8)))
        #expect(fork.status == 409 && fork.body == "8\n", "the other branch at 8: \(fork.status) \(fork.body)")
        let forkLater = try #require(server.post(Fixtures.body(old: 8, proof: try b.proof(from: 8, to: 12), note: forked12)))
        #expect(forkLater.status == 422, "the other branch at 12: \(forkLater.status) \(forkLater.body)")
        #expect(forkLater.headers["content-type"] == "application/problem+json")
        let evidence = try FileManager.default.contentsOfDirectory(atPath: state + "/evidence").filter { !$0.hasPrefix(".") }
        #expect(evidence.count == 2, "both forks kept as evidence")

        // 5. And the log goes on.
        _ = try a.grow(to: 12)
        #expect(server.post(try a.body(old: 8, size: 12))?.status == 200)
        server.stop()
        #expect(server.process.terminationStatus == 0 || server.process.terminationReason == .uncaughtSignal, "stopped by SIGTERM")
    }
}
