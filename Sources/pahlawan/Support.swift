#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Ledger

enum FileHandleShim {
    static func writeToStandardError(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}

/// Reads a verifier key given either as the key text itself or as a path to a file holding it.
func loadVerifierKey(_ argument: String, type: KeyType = .ed25519) throws -> VerifierKey {
    try report {
        if argument.contains("+") && !FileManager.default.fileExists(atPath: argument) {
            return try VerifierKey(text: argument, type: type)
        }
        guard let data = FileManager.default.contents(atPath: argument) else {
            throw LedgerError(.notFound, "not a verifier key and not a readable file", file: argument)
        }
        do throws(LedgerError) {
            return try VerifierKey(text: String(decoding: data, as: UTF8.self), type: type)
        } catch {
            throw LedgerError(error.code, error.reason, file: argument)
        }
    }
}

/// Monotonic seconds, for reporting how long a command took.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
