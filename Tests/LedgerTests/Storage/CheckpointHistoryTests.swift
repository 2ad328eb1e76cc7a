import Foundation
import Testing
@testable import Ledger

/// Every checkpoint the ledger signs is kept and found again by size; the history survives
/// restarts, starts itself on directories from before it, and refuses damage.
@Suite struct CheckpointHistoryTests {
    @Test func everySignedCheckpointIsKeptAndFoundBySize() throws {
        let path = TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try Ledger(directory: DataDirectory(path), signer: TestSupport.signingKey)
        var notes: [UInt64: String] = [:]
        notes[0] = ledger.latestCheckpoint!.note
        for round in 1...40 {
            try ledger.append((0..<round).map { TestSupport.draft(round * 100 + $0) })
            let note = try ledger.checkpoint()
            notes[ledger.size] = note
        }
        for (size, note) in notes {
            #expect(try ledger.checkpointNote(size: size) == note, "size \(size)")
            #expect(try Checkpoint.open(note, verifier: TestSupport.signingKey.verifier).size == size)
        }
        // Sizes never signed are not found.
        #expect(try ledger.checkpointNote(size: 2) == nil)
        #expect(try ledger.checkpointNote(size: UInt64.max) == nil)
        let listed = try ledger.checkpointNotes(fromSlot: 0, limit: 1_000)
        #expect(listed.map(\.size) == notes.keys.sorted())
        ledger.close()
        // Read-only (an auditor's copy) and after a restart: the same history.
        let reader = try Ledger(directory: DataDirectory(path), signer: nil, verifier: TestSupport.signingKey.verifier)
        for (size, note) in notes { #expect(try reader.checkpointNote(size: size) == note) }
        reader.close()
    }

    @Test func aTornLastSlotIsCutOffAndTheCheckpointIsKeptAgain() throws {
        let (ledger, path) = try TestSupport.makeLedger(entries: 300)
        let size = ledger.size
        let note = ledger.latestCheckpoint!.note
        ledger.close()
        let file = DataDirectory(path).checkpointHistoryFile
        let history = try FileIO.readAll(file)
        // A crash while appending the last slot: half of it on disk.
        try FileIO.writeAtomically(file, Array(history.dropLast(CheckpointHistory.slotByteCount / 2)))
        let reopened = try Ledger(directory: DataDirectory(path), signer: TestSupport.signingKey)
        defer { reopened.close(); try? FileManager.default.removeItem(atPath: path) }
        #expect(try reopened.checkpointNote(size: size) == note, "opening keeps the stored checkpoint again")
        #expect(try FileIO.readAll(file).count % CheckpointHistory.slotByteCount == 0)
    }

    /// Open reads only the last slot (it must not cost O(number of checkpoints)); a damaged
    /// slot is reported by the read that reaches it, never skipped or answered wrongly.
    @Test func aDamagedSlotBeforeTheLastIsReportedWhenReadNotSkipped() throws {
        let path = TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try Ledger(directory: DataDirectory(path), signer: TestSupport.signingKey)
        for round in 0..<4 {
            try ledger.append([TestSupport.draft(round)])
            try ledger.checkpoint()
        }
        ledger.close()
        let file = DataDirectory(path).checkpointHistoryFile
        var history = try FileIO.readAll(file)
        history[CheckpointHistory.slotByteCount + 20] ^= 0x01
        try FileIO.writeAtomically(file, history)
        let reopened = try Ledger(directory: DataDirectory(path), signer: TestSupport.signingKey)
        defer { reopened.close() }
        let error = #expect(throws: LedgerError.self) { try reopened.checkpointNote(size: 1) }
        #expect(error?.code == .damagedRecord)
        #expect(throws: LedgerError.self) { try reopened.checkpointNotes(fromSlot: 0, limit: 10) }
        #expect(try reopened.checkpointNote(size: 4) != nil, "slots the search does not cross still answer")
    }

    @Test func aDirectoryFromBeforeTheHistoryStartsItWithItsCheckpoint() throws {
        let (ledger, path) = try TestSupport.makeLedger(entries: 10)
        let note = ledger.latestCheckpoint!.note
        ledger.close()
        try FileManager.default.removeItem(atPath: DataDirectory(path).checkpointHistoryFile)
        let reopened = try Ledger(directory: DataDirectory(path), signer: TestSupport.signingKey)
        defer { reopened.close(); try? FileManager.default.removeItem(atPath: path) }
        #expect(try reopened.checkpointNote(size: 10) == note)
    }
}

/// `pahlawan verify` reads every kept checkpoint too: a damaged slot fails it.
@Suite struct CheckpointHistoryVerifyTests {
    func verify(_ path: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CrashHarnessTests.executable)
        process.arguments = ["verify", "--data-dir", path, "--key", TestSupport.signingKey.verifier.text]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test func verifyChecksEveryKeptCheckpoint() throws {
        let path = TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try Ledger(directory: DataDirectory(path), signer: TestSupport.signingKey)
        for round in 0..<5 {
            try ledger.append([TestSupport.draft(round)])
            try ledger.checkpoint()
        }
        ledger.close()
        let good = try verify(path)
        #expect(good.status == 0, "\(good.output)")
        #expect(good.output.contains("checkpoint history: 6 kept checkpoints"), "\(good.output)")
        let file = DataDirectory(path).checkpointHistoryFile
        var history = try FileIO.readAll(file)
        history[CheckpointHistory.slotByteCount * 2 + 30] ^= 0x01
        try FileIO.writeAtomically(file, history)
        let bad = try verify(path)
        #expect(bad.status == 1)
        #expect(bad.output.contains("FAIL checkpoint history"), "\(bad.output)")
    }

    /// A stop between keeping a checkpoint and publishing it leaves its slot beyond the published
    /// checkpoint: a note, not damage. (Simulated: the published checkpoint put back one step.)
    @Test func aKeptButUnpublishedCheckpointIsANoteNotAFailure() throws {
        let path = TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = DataDirectory(path)
        let ledger = try Ledger(directory: data, signer: TestSupport.signingKey)
        try ledger.append([TestSupport.draft(0)])
        let published = try ledger.checkpoint()
        try ledger.append([TestSupport.draft(1)])
        try ledger.checkpoint()
        ledger.abandon()
        try FileIO.writeAtomically(data.checkpointFile, Array(published.utf8))
        let result = try verify(path)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("beyond the published one (size 2)"), "\(result.output)")
    }
}
