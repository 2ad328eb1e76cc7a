import Compliance
import Ledger

/// Opens everything the command loop needs from a data directory and a policy directory.
public enum Startup {
    /// The pickup-code key's file name inside the data directory.
    public static let pickupKeyFile = "pickup.key"

    /// What opening created, for the caller to tell the user about.
    public struct Opened: Sendable {
        public let loop: CommandLoop
        public let createdSigningKey: Bool
    }

    /// Loads (or on first use creates) the signing key and pickup key in `data`, loads and
    /// validates the policies, opens the ledger and replays it into the engines. `clock` is the
    /// engines' clock (the ledger keeps its own for checkpoint timing).
    public static func open(
        data: DataDirectory, policies directory: String, options: LedgerOptions = LedgerOptions(),
        clock: @escaping @Sendable () -> Int64 = Ledger.wallClockMicroseconds
    ) throws -> Opened {
        let policies = try PolicySet.load(directory: directory)
        let (key, created) = try data.loadOrCreateSigningKey(name: Checkpoint.defaultOrigin)
        let pickupKey = try data.loadOrCreateSecret(named: pickupKeyFile).bytes
        let ledger = try Ledger(directory: data, signer: key, options: options)
        return Opened(loop: try CommandLoop(ledger: ledger, policies: policies, pickupKey: pickupKey, clock: clock), createdSigningKey: created)
    }
}
