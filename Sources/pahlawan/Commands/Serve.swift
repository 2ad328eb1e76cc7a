import ArgumentParser
import Core
import Foundation
import Hummingbird
import Ledger
import Server

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP service on the file ledger (write API, audit reads, health); stops cleanly on SIGINT/SIGTERM.",
        discussion: """
            Tokens: `pahlawan token --role R --sub ID` mints a development token signed by the key in the data \
            directory (`auth.key`, created on first use). The service is in progress (issue 5): \
            participants, surplus, claims, pickup, delivery, entries with proofs, the checkpoint.
            """)

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "The policy directory.") var policies = "policies"
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080

    func run() async throws {
        let opened = try report { try Startup.open(data: data.directory, policies: policies) }
        if opened.createdSigningKey { print("created a new signing key in \(data.directory.signingKeyFile) (mode 0600)") }
        let (seed, createdAuthKey) = try report { try data.directory.loadOrCreateSecret(named: "auth.key") }
        if createdAuthKey { print("created a development token key in \(data.path)/auth.key (mode 0600)") }
        let access = try report { try Service.loadAccess(policies: policies) }
        let service = Service(loop: opened.loop, authority: try await TokenAuthority(seed: seed), access: access)
        let app = Application(router: service.router(), configuration: .init(address: .hostname(host, port: port)))
        print("serving \(data.path) (\(opened.loop.ledger.size) entries) on http://\(host):\(port); try: curl http://\(host):\(port)/health/ready")
        // At once, even into a file or pipe, so a supervisor sees where to look.
        fflush(nil)
        try await app.runService()
        opened.loop.ledger.close()
        print("stopped; the ledger is closed with a final checkpoint")
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Mint a development access token (EdDSA, at most 15 minutes) from the data directory's auth.key.")

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "Role: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).") var role: String
    @Option(help: "Subject: the caller's pseudonymous participant id.") var sub: String
    @Option(help: "Lifetime in minutes (1–15).") var minutes = 15

    func validate() throws {
        guard Role(rawValue: role) != nil else { throw ValidationError("--role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))") }
        guard (1...15).contains(minutes) else { throw ValidationError("--minutes must be 1…15") }
    }

    func run() async throws {
        let (seed, _) = try report { try data.directory.loadOrCreateSecret(named: "auth.key") }
        print(try await TokenAuthority(seed: seed).mint(subject: sub, role: Role(rawValue: role)!, lifetime: Double(minutes * 60)))
    }
}
