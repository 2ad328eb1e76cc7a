import Glibc
import Synchronization

/// Every checkpoint the ledger signed, one per tree size, in `<data dir>/checkpoints`: fixed
/// 512-byte slots (tree size u64 LE, note length u16 LE, the note, zeros, CRC-32C u32 LE of the
/// first 508 bytes), so any size is found by binary search and a torn last slot by its checksum
/// (ledger/FORMAT.md §10.4). One writer (the checkpointer) appends; any thread reads.
public final class CheckpointHistory: Sendable {
    /// The slot size of the ledger's own history (a note with our signature alone).
    public static let slotByteCount = 512
    /// The slot size of the cosigned history (a note with up to about 15 cosignatures).
    public static let cosignedSlotByteCount = 2_048

    /// This history's slot size; a note holds at most `slotByteCount - 14` bytes.
    public let slotByteCount: Int
    var noteByteCountMax: Int { slotByteCount - 8 - 2 - 4 }

    private struct State {
        let file: File
        /// Whole, checksum-valid slots.
        var count: UInt64
        /// The tree size in the last slot.
        var lastSize: UInt64?
    }

    public let path: String
    private let state: Mutex<State>

    /// Opens the history at `path`. Writable, it is created when missing and a torn last slot
    /// (a partial slot or one failing its checksum) is cut off; read-only, such a slot is ignored.
    /// - Throws: `damagedRecord` when a slot before the last fails its checksum or sizes do not increase.
    public init(path: String, writable: Bool, slotByteCount: Int = CheckpointHistory.slotByteCount) throws(LedgerError) {
        precondition(slotByteCount >= 64 && slotByteCount <= 65_536)
        self.path = path
        self.slotByteCount = slotByteCount
        let file: File
        if writable {
            file = try File.open(path, flags: O_RDWR | O_CREAT)
        } else if FileIO.exists(path) {
            file = try File.open(path, flags: O_RDONLY)
        } else {
            file = try File.open("/dev/null", flags: O_RDONLY)
        }
        let bytes = try file.size()
        var count = bytes / UInt64(slotByteCount)
        var lastSize: UInt64?
        while count > 0 {
            if let slot = try Self.readSlot(file, count - 1, slotByteCount: slotByteCount) {
                lastSize = slot.size
                break
            }
            // Only the last slot may be torn: anything before it was followed by a durable slot.
            guard count == bytes / UInt64(slotByteCount) else {
                throw LedgerError(.damagedRecord, "checkpoint slot \(count - 1) fails its checksum", file: path)
            }
            count -= 1
        }
        if writable, bytes != count * UInt64(slotByteCount) {
            try file.truncate(to: count * UInt64(slotByteCount))
            try file.sync()
        }
        state = Mutex(State(file: file, count: count, lastSize: lastSize))
    }

    /// How many checkpoints are kept.
    public var count: UInt64 { state.withLock { $0.count } }

    /// The largest tree size with a kept checkpoint.
    public var lastSize: UInt64? { state.withLock { $0.lastSize } }

    /// Appends the checkpoint `note` of tree `size` and makes it durable; a size not larger than
    /// the last one kept is skipped (a checkpoint re-signed at the same size is the same note).
    public func append(size: UInt64, note: String) throws(LedgerError) {
        let text = Array(note.utf8)
        guard text.count <= noteByteCountMax else {
            throw LedgerError(.badNote, "a checkpoint note kept in the history is at most \(noteByteCountMax) bytes", file: path)
        }
        var slot = [UInt8](repeating: 0, count: slotByteCount)
        for index in 0..<8 { slot[index] = UInt8(truncatingIfNeeded: size >> (8 * index)) }
        slot[8] = UInt8(text.count & 0xff)
        slot[9] = UInt8(text.count >> 8)
        slot.replaceSubrange(10..<10 + text.count, with: text)
        let checksum = slot.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<slotByteCount - 4])) }
        for index in 0..<4 { slot[slotByteCount - 4 + index] = UInt8(truncatingIfNeeded: checksum >> (8 * index)) }
        try state.withLock { (state) throws(LedgerError) in
            if let last = state.lastSize, size <= last { return }
            try state.file.write(slot, at: state.count * UInt64(slotByteCount))
            try state.file.sync()
            state.count += 1
            state.lastSize = size
        }
    }

    /// The checkpoint note signed at exactly tree `size`, or nil when none was.
    public func note(size: UInt64) throws(LedgerError) -> String? {
        try state.withLock { (state) throws(LedgerError) -> String? in
            var low: UInt64 = 0
            var high = state.count
            while low < high {
                let middle = low + (high - low) / 2
                guard let slot = try Self.readSlot(state.file, middle, slotByteCount: slotByteCount) else {
                    throw LedgerError(.damagedRecord, "checkpoint slot \(middle) fails its checksum", file: path)
                }
                if slot.size == size { return slot.note }
                if slot.size < size { low = middle + 1 } else { high = middle }
            }
            return nil
        }
    }

    /// Every kept (size, note) from slot `from` on, at most `limit` of them, in increasing size.
    public func notes(fromSlot from: UInt64, limit: Int) throws(LedgerError) -> [(size: UInt64, note: String)] {
        try state.withLock { (state) throws(LedgerError) -> [(size: UInt64, note: String)] in
            var notes = [(size: UInt64, note: String)]()
            var index = from
            while index < state.count, notes.count < limit {
                guard let slot = try Self.readSlot(state.file, index, slotByteCount: slotByteCount) else {
                    throw LedgerError(.damagedRecord, "checkpoint slot \(index) fails its checksum", file: path)
                }
                notes.append(slot)
                index += 1
            }
            return notes
        }
    }

    public func close() { state.withLock { $0.file.close() } }

    /// Slot `index`, or nil when it is torn or fails its checksum.
    private static func readSlot(_ file: File, _ index: UInt64, slotByteCount: Int) throws(LedgerError) -> (size: UInt64, note: String)? {
        let noteByteCountMax = slotByteCount - 14
        let slot = try file.read(at: index * UInt64(slotByteCount), count: slotByteCount)
        guard slot.count == slotByteCount else { return nil }
        let stored = (0..<4).reduce(UInt32(0)) { $0 | UInt32(slot[slotByteCount - 4 + $1]) << (8 * $1) }
        let computed = slot.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<slotByteCount - 4])) }
        let length = Int(slot[8]) | Int(slot[9]) << 8
        guard stored == computed, length <= noteByteCountMax else { return nil }
        let size = (0..<8).reduce(UInt64(0)) { $0 | UInt64(slot[$1]) << (8 * $1) }
        return (size, String(decoding: slot[10..<10 + length], as: UTF8.self))
    }
}
