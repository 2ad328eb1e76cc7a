import Foundation
import Ledger
import Testing
import Witness

/// What a witness remembers across a restart, and what it makes of a log file whose last
/// record a crash cut short.
@Suite struct DurabilityTests {
    static func size(of path: String) throws -> UInt64 {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value ?? 0
    }

    static func append(_ bytes: [UInt8], to path: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(bytes))
    }

    static func truncate(_ path: String, to length: UInt64) throws {
        let handle = try #require(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        try handle.truncate(atOffset: length)
    }

    @Test func aReopenedWitnessKeepsItsLatestCheckpointAndGoesOnFromIt() throws {
        let log = try TestLog()
        let directory = Fixtures.makeTemporaryDirectory()
        var witness = try Fixtures.witness(directory: directory)
        let note5 = try log.grow(to: 5)
        let note8 = try log.grow(to: 8)
        #expect(witness.addCheckpoint(Fixtures.body(old: 0, note: note5)).isCosigned)
        #expect(witness.addCheckpoint(try log.body(old: 5, size: 8)).isCosigned)
        witness.close()

        witness = try Fixtures.witness(directory: directory)
        #expect(witness.latest(origin: Fixtures.origin)?.size == 8)
        #expect(witness.latest(origin: Fixtures.origin)?.note == note8)
        #expect(witness.addCheckpoint(Fixtures.body(old: 0, note: note8)).conflictSize == 8, "a restart does not forget")
        #expect(witness.addCheckpoint(Fixtures.body(old: 5, note: note8)).conflictSize == 8)
        _ = try log.grow(to: 13)
        #expect(witness.addCheckpoint(try log.body(old: 8, size: 13)).isCosigned)
        witness.close()

        witness = try Fixtures.witness(directory: directory)
        defer { witness.close() }
        #expect(witness.latest(origin: Fixtures.origin)?.size == 13)
    }

    /// A witness restarted without one of its logs, then with it again, still knows that log.
    @Test func aLogLeftOutOfOneRunIsRememberedInTheNext() throws {
        let log = try TestLog()
        let directory = Fixtures.makeTemporaryDirectory()
        var witness = try Fixtures.witness(directory: directory)
        #expect(witness.addCheckpoint(Fixtures.body(old: 0, note: try log.grow(to: 4))).isCosigned)
        witness.close()
        witness = try Fixtures.witness(directory: directory, logKeys: [Fixtures.strangerKey.verifier])
        #expect(witness.latest(origin: Fixtures.origin) == nil)
        witness.close()
        witness = try Fixtures.witness(directory: directory)
        defer { witness.close() }
        #expect(witness.latest(origin: Fixtures.origin)?.size == 4)
    }

    /// Past 4 MiB the log file is rewritten to its last record. Checkpoints with a long
    /// extension line (the witness cosigns the whole text) get it there in a few hundred
    /// stores; the witness must go on appending to the new file and reopen to the right one.
    @Test func theLogFileIsCompactedToItsLatestRecordAndStaysUsable() throws {
        let log = try TestLog()
        _ = try log.grow(to: 600)
        let directory = Fixtures.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }  // 4 MiB
        var witness = try Fixtures.witness(directory: directory)
        let padding = String(repeating: "p", count: 14_000)
        func note(_ size: UInt64) throws -> String {
            Fixtures.signed("\(Fixtures.origin)\n\(size)\n\(try log.ledger.root(size: size).base64)\nextension \(padding)\n")
        }
        #expect(witness.addCheckpoint(Fixtures.body(old: 0, note: try note(1))).isCosigned)
        let file = try Fixtures.logFile(in: directory)
        var shrank = false
        var previous = try Self.size(of: file)
        for size in UInt64(2)...UInt64(400) {
            let body = Fixtures.body(old: size - 1, proof: try log.proof(from: size - 1, to: size), note: try note(size))
            let answer = witness.addCheckpoint(body)
            try #require(answer.isCosigned, "size \(size): \(answer)")
            let now = try Self.size(of: file)
            #expect(now <= 4 << 20, "the file stays under the compaction bound")
            if now < previous {
                shrank = true
                #expect(now == UInt64(8 + (try note(size)).utf8.count), "compacted to the one latest record")
                // Reopened right after a compaction, the witness holds that record.
                witness.close()
                witness = try Fixtures.witness(directory: directory)
                #expect(witness.latest(origin: Fixtures.origin)?.note == (try note(size)))
            }
            previous = now
        }
        #expect(shrank, "the file was compacted")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/logs").count == 1, "no temporary file left")
        witness.close()
        witness = try Fixtures.witness(directory: directory)
        defer { witness.close() }
        #expect(witness.latest(origin: Fixtures.origin)?.note == (try note(400)))
        #expect(witness.addCheckpoint(try log.body(old: 400, size: 600)).isCosigned)
    }

    /// A crash tears only the last record. A damaged record with records after it is not a torn
    /// write: cutting the file there dropped the newer checkpoints and the witness, reopened at
    /// size 5 after cosigning 13, cosigned from 5 again (a rollback). It must refuse to open,
    /// leaving the file as it is. (A length field damaged into more than the rest of the file
    /// still reads as a torn tail when less than one record's worth follows: not told apart.)
    @Test func aDamagedRecordBeforeTheLastIsRefusedNotCutOff() throws {
        let log = try TestLog()
        let directory = Fixtures.makeTemporaryDirectory()
        var witness = try Fixtures.witness(directory: directory)
        _ = try log.grow(to: 13)
        for (old, size) in [(UInt64(0), UInt64(5)), (5, 8), (8, 13)] {
            #expect(witness.addCheckpoint(try log.body(old: old, size: size)).isCosigned)
        }
        witness.close()
        let file = try Fixtures.logFile(in: directory)
        let intact = try Data(contentsOf: URL(fileURLWithPath: file))
        let second = 8 + (try log.note(size: 5)).utf8.count
        let damages: [(String, (inout Data) -> Void)] = [
            ("a bit of the second record's note", { $0[second + 8 + 40] ^= 0x01 }),
            ("a bit of its checksum", { $0[second + 4] ^= 0x80 }),
            ("its length made smaller", { $0[second] &-= 3 }),
            // A larger length claims the following records as its own body, so the records
            // after it are the only sign of damage (found by a re-check of an outside review).
            ("its length made larger by one bit", { $0[second + 2] ^= 0x10 }),
            ("its length made a little larger", { $0[second] &+= 40 }),
            ("a bit of the first record", { $0[20] ^= 0x10 }),
        ]
        for (what, damage) in damages {
            var bytes = intact
            damage(&bytes)
            try bytes.write(to: URL(fileURLWithPath: file))
            #expect(throws: LedgerError.self, "\(what)") { try Fixtures.witness(directory: directory).close() }
            #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == bytes, "\(what): the file is left as it was")
        }
        try intact.write(to: URL(fileURLWithPath: file))
        witness = try Fixtures.witness(directory: directory)
        defer { witness.close() }
        #expect(witness.latest(origin: Fixtures.origin)?.size == 13)
        #expect(witness.addCheckpoint(try log.body(old: 5, size: 13)).conflictSize == 13)
    }

    @Test func aTornLastRecordIsCutOffAndThePreviousOneIsTheLatest() throws {
        let log = try TestLog()
        let directory = Fixtures.makeTemporaryDirectory()
        var witness = try Fixtures.witness(directory: directory)
        let note5 = try log.grow(to: 5)
        let note8 = try log.grow(to: 8)
        let note13 = try log.grow(to: 13)
        #expect(witness.addCheckpoint(Fixtures.body(old: 0, note: note5)).isCosigned)
        #expect(witness.addCheckpoint(try log.body(old: 5, size: 8)).isCosigned)
        let file = try Fixtures.logFile(in: directory)
        let twoRecords = try Self.size(of: file)
        #expect(witness.addCheckpoint(try log.body(old: 8, size: 13)).isCosigned)
        witness.close()
        let threeRecords = try Self.size(of: file)
        #expect(threeRecords > twoRecords)

        // A few garbage bytes after the last whole record (a record's start, cut short).
        for garbage: [UInt8] in [[0x42], [0x42, 0x00, 0x13], [1, 2, 3, 4, 5, 6, 7], [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 9]] {
            try Self.append(garbage, to: file)
            witness = try Fixtures.witness(directory: directory)
            #expect(witness.latest(origin: Fixtures.origin)?.note == note13, "garbage \(garbage)")
            witness.close()
            #expect(try Self.size(of: file) == threeRecords, "the garbage is cut off on open")
        }
        // A whole-looking record whose checksum does not match (a torn write of its body).
        let length = UInt32(note13.utf8.count)
        let lengthBytes = (0..<4).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) }
        try Self.append(lengthBytes + [0, 0, 0, 0] + Array(note13.utf8), to: file)
        witness = try Fixtures.witness(directory: directory)
        #expect(witness.latest(origin: Fixtures.origin)?.note == note13, "a record with a bad checksum")
        witness.close()
        #expect(try Self.size(of: file) == threeRecords)

        // The last record cut in its middle: the one before it is the latest.
        for cut: UInt64 in [1, 10, UInt64(note13.utf8.count), UInt64(note13.utf8.count) + 1, threeRecords - twoRecords - 1] {
            try Self.truncate(file, to: threeRecords - cut)
            witness = try Fixtures.witness(directory: directory)
            #expect(witness.latest(origin: Fixtures.origin)?.note == note8, "cut \(cut) bytes off the last record")
            witness.close()
            #expect(try Self.size(of: file) == twoRecords, "the torn record is cut off")
            // Put the third record back for the next cut, through the witness itself.
            witness = try Fixtures.witness(directory: directory)
            #expect(witness.addCheckpoint(try log.body(old: 8, size: 13)).isCosigned)
            witness.close()
            #expect(try Self.size(of: file) == threeRecords)
        }

        // After a torn tail, the witness appends after the last whole record and reopens to it.
        try Self.truncate(file, to: threeRecords - 3)
        witness = try Fixtures.witness(directory: directory)
        #expect(witness.addCheckpoint(Fixtures.body(old: 13, note: note13)).conflictSize == 8, "the torn checkpoint was never answered")
        _ = try log.grow(to: 21)
        #expect(witness.addCheckpoint(try log.body(old: 8, size: 21)).isCosigned)
        witness.close()
        witness = try Fixtures.witness(directory: directory)
        defer { witness.close() }
        #expect(witness.latest(origin: Fixtures.origin)?.size == 21)
    }
}
