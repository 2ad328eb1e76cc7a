import ArgumentParser
import Ledger

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create an Ed25519 signing key (mode 0600) and print its C2SP verifier key.")

    @Option(help: "Directory to write signing.key and verifier.key into (refuses to overwrite).")
    var out: String

    @Option(help: "The key name, which is also the checkpoint origin line.")
    var name: String = Checkpoint.defaultOrigin

    func run() throws {
        let key = try report { try SigningKey.generate(name: name) }
        try report { try DataDirectory.writeKeyPair(key, into: out) }
        printError("wrote \(out)/signing.key (mode 0600, keep it secret) and \(out)/verifier.key")
        print(key.verifier.text)
    }
}
