import ArgumentParser
import Foundation
import Ledger

struct Proof: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print RFC 9162 inclusion or consistency proofs as JSON, or an entry's offline proof (C2SP tlog-proof).",
        subcommands: [Inclusion.self, Consistency.self, Entry.self])

    struct Entry: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write entry SEQ's offline proof (C2SP tlog-proof: the entry, its inclusion proof and the cosigned checkpoint).",
            discussion: "Check it anywhere with `audit/verify.py --proof FILE --key LOGKEY --witness WKEY … --quorum N` or `pahlawan verify --proof FILE …`.")
        @OptionGroup var data: DataDirectoryOptions
        @Option(help: "The entry's seq.") var seq: UInt64
        @Flag(help: "Prove against the latest checkpoint even if no quorum of witnesses has cosigned it.") var unwitnessed = false
        @Option(help: "Write the proof to this file (default: standard output).") var out: String?

        func run() throws {
            // Read-only: it runs beside the service, which holds the writer's lock.
            let ledger = try data.openReadOnly()
            let cosignedFile = data.directory.cosignedCheckpointFile
            let note: String
            if !unwitnessed, FileManager.default.fileExists(atPath: cosignedFile) {
                note = String(decoding: try report { try FileIO.readAll(cosignedFile) }, as: UTF8.self)
            } else if unwitnessed, let latest = ledger.latestCheckpoint {
                note = latest.note
            } else {
                printError("pahlawan: error: \(cosignedFile): no checkpoint has a quorum of witness cosignatures yet; pass --unwitnessed to prove against the latest checkpoint")
                throw ExitCode(1)
            }
            let proof = try report { try TlogProof.make(ledger, seq: seq, checkpointNote: note) }
            if let out {
                try report { try FileIO.writeAtomically(out, Array(proof.serialized.utf8)) }
                printError("wrote \(out)")
            } else {
                print(proof.serialized, terminator: "")
            }
        }
    }

    struct Inclusion: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Prove that entry SEQ is in the tree of SIZE entries.")
        @OptionGroup var data: DataDirectoryOptions
        @Option(help: "The entry's seq.") var seq: UInt64
        @Option(help: "Tree size to prove against (default: the latest checkpoint's).") var size: UInt64?

        func run() throws {
            let ledger = try data.openForReading()
            let treeSize = size ?? ledger.latestCheckpoint?.checkpoint.size ?? ledger.size
            let output: [String: Any] = try report {
                // The proof call validates seq and size before the leaf is looked up.
                let proof = try ledger.inclusionProof(seq: seq, size: treeSize)
                return [
                    "seq": seq,
                    "tree_size": treeSize,
                    "leaf_hash": try ledger.leafHash(seq).base64,
                    "root": try ledger.root(size: treeSize).base64,
                    "proof": proof.map(\.base64),
                ]
            }
            try printJSON(output)
        }
    }

    struct Consistency: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Prove that the tree of size TO extends the tree of size FROM.")
        @OptionGroup var data: DataDirectoryOptions
        @Option(help: "The older tree size.") var from: UInt64
        @Option(help: "The newer tree size.") var to: UInt64

        func run() throws {
            let ledger = try data.openForReading()
            let output: [String: Any] = try report {
                [
                    "size1": from,
                    "size2": to,
                    "root1": try ledger.root(size: from).base64,
                    "root2": try ledger.root(size: to).base64,
                    "proof": try ledger.consistencyProof(from: from, to: to).map(\.base64),
                ]
            }
            try printJSON(output)
        }
    }
}

func printJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}
