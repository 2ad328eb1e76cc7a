import ArgumentParser
import Foundation
import Ledger

struct Proof: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print RFC 9162 inclusion or consistency proofs as JSON.",
        subcommands: [Inclusion.self, Consistency.self])

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
