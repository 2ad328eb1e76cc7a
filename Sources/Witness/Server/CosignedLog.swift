import Glibc
import Ledger

/// What a witness has cosigned for one log origin, kept durably: an append-only file of framed
/// notes (u32 LE length, u32 LE CRC-32C of the length bytes and the note, the note), whose last
/// whole record is the latest checkpoint the witness cosigned. Appending one record and
/// `fdatasync`ing it is the whole store (no rename), so a witness can answer thousands of
/// add-checkpoint calls a second. A torn last record is cut off on open; once the file passes
/// `compactionBytes`, it is rewritten (write, sync, rename, sync folder) to its last record.
/// Not thread-safe: the witness holds its origin's lock around every call.
final class CosignedLog {
    static let compactionBytes: UInt64 = 4 << 20

    let path: String
    private var file: File
    private var length: UInt64
    /// The latest cosigned checkpoint: its head and the note as it was submitted.
    private(set) var latest: (head: CheckpointHead, note: String)?

    /// Opens (creating) the log at `path`, reading every record to find the last whole one.
    init(path: String) throws(LedgerError) {
        self.path = path
        file = try File.open(path, flags: O_RDWR | O_CREAT)
        let bytes = try file.read(at: 0, count: Int(try file.size()))
        var offset = 0
        var latest: (CheckpointHead, String)?
        while offset + 8 <= bytes.count {
            let count = Int(Self.u32(bytes, offset))
            guard count <= SignedNote.byteCountMax, offset + 8 + count <= bytes.count else { break }
            let stored = Self.u32(bytes, offset + 4)
            let computed = CRC32C.checksum(Array(bytes[offset..<offset + 4]) + Array(bytes[offset + 8..<offset + 8 + count]))
            guard stored == computed else { break }
            let note = String(decoding: bytes[offset + 8..<offset + 8 + count], as: UTF8.self)
            guard let parsed = try? SignedNote(parsing: note), let head = try? CheckpointHead(text: parsed.text) else {
                throw LedgerError(.damagedRecord, "a stored checkpoint at byte \(offset) does not parse", file: path)
            }
            latest = (head, note)
            offset += 8 + count
        }
        if offset < bytes.count {
            // Only a write cut short by a crash ends the file early: it was never answered. A
            // crash tears only the last append (each one is synced before the next), so the
            // broken bytes are at most one record, and a record whose stated length ends before
            // the file does was followed by later writes: damaged after it was synced. Cutting
            // from there used to drop every later cosigned checkpoint, silently rolling the
            // witness back to one it had moved past (it then cosigned from that old size).
            // A damaged length field can claim any length, so the test is whether a whole valid
            // record starts anywhere after the broken one: a torn append has nothing after it.
            let count = offset + 8 <= bytes.count ? Int(Self.u32(bytes, offset)) : 0
            let laterRecords = (count > 0 && offset + 8 + count < bytes.count) || Self.validRecordStarts(in: bytes, after: offset)
            guard bytes.count - offset <= 8 + SignedNote.byteCountMax, !laterRecords else {
                throw LedgerError(.damagedRecord, "a stored checkpoint at byte \(offset) is damaged and records follow it", file: path)
            }
            try file.truncate(to: UInt64(offset))
            try file.sync()
        }
        length = UInt64(offset)
        self.latest = latest
    }

    /// Makes `note` (whose head is `head`) the latest cosigned checkpoint, durably.
    func store(_ head: CheckpointHead, note: String) throws(LedgerError) {
        let record = Self.record(note)
        if length + UInt64(record.count) > Self.compactionBytes {
            try compact(to: record)
        } else {
            try file.write(record, at: length)
            try file.sync()
            length += UInt64(record.count)
        }
        latest = (head, note)
    }

    /// Replaces the file by one holding only `record` (the new latest).
    private func compact(to record: [UInt8]) throws(LedgerError) {
        try FileIO.writeAtomically(path, record, mode: 0o644)
        file.close()
        file = try File.open(path, flags: O_RDWR)
        length = UInt64(record.count)
    }

    func close() { file.close() }

    private static func record(_ note: String) -> [UInt8] {
        let text = Array(note.utf8)
        let lengthBytes = le(UInt32(text.count))
        return lengthBytes + le(CRC32C.checksum(lengthBytes + text)) + text
    }

    /// Whether a whole record (a plausible length, a matching checksum, a signed note) starts at
    /// any byte after `offset`. Only run on a damaged file, so scanning every position is fine.
    private static func validRecordStarts(in bytes: [UInt8], after offset: Int) -> Bool {
        var position = offset + 1
        while position + 8 <= bytes.count {
            let count = Int(u32(bytes, position))
            if count > 0, count <= SignedNote.byteCountMax, position + 8 + count <= bytes.count,
                u32(bytes, position + 4) == CRC32C.checksum(Array(bytes[position..<position + 4]) + Array(bytes[position + 8..<position + 8 + count])),
                (try? SignedNote(parsing: String(decoding: bytes[position + 8..<position + 8 + count], as: UTF8.self))) != nil
            {
                return true
            }
            position += 1
        }
        return false
    }

    private static func le(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    private static func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }
}
