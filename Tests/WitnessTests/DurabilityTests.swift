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
