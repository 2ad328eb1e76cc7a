import Dispatch
import Foundation

/// Group commit: callers enqueue requests; one writer thread takes every waiting request (up to
/// `batchEntriesMax` entries), builds the bodies in order, signs them on every core, writes the
/// batch with one `fdatasync`, and only then answers each caller. A request is all-or-nothing: a
/// rejected one writes nothing and does not disturb the others in its batch.
extension LedgerEngine {
    final class Request: Sendable {
        enum Work: Sendable {
            /// The drafts this work writes (nil for caller-built bodies and checkpoints).
            var drafts: [EntryDraft]? {
                switch self {
                case .drafts(let drafts, _, _): drafts
                case .rotation(let draft, _, _): [draft]
                case .bodies, .checkpoint: nil
                }
            }

            /// Drafts with their heads already encoded by the caller (see `BodyLayout`), naming `key`.
            case drafts([EntryDraft], heads: [[UInt8]], key: KeyID)
            /// A `key.rotated` entry (one draft, signed by the outgoing key); `next` signs after it.
            case rotation(EntryDraft, KeyRotation, next: SigningKey)
            /// Caller-built bodies, checked strictly against the contract.
            case bodies([[UInt8]])
            case checkpoint
        }

        enum Outcome: Sendable {
            case entries([SignedEntry])
            case checkpoint(String)
        }

        let work: Work
        let entryCount: Int
        /// Checkpoints cover exactly what came before them; a rotation changes the key after it.
        var travelsAlone: Bool {
            switch work {
            case .checkpoint, .rotation: true
            case .drafts, .bodies: false
            }
        }
        let complete: @Sendable (Result<Outcome, LedgerError>) -> Void

        init(work: Work, complete: @escaping @Sendable (Result<Outcome, LedgerError>) -> Void) {
            self.work = work
            switch work {
            case .drafts(let drafts, _, _): entryCount = drafts.count
            case .rotation: entryCount = 1
            case .bodies(let bodies): entryCount = bodies.count
            case .checkpoint: entryCount = 0
            }
            self.complete = complete
        }
    }

    // MARK: Submitting

    /// Appends the drafts as consecutive entries, returning once they are durable.
    /// Throws `pushback` at once when the queue is full.
    @discardableResult
    public func append(_ drafts: [EntryDraft]) async throws(LedgerError) -> [SignedEntry] {
        let work = try prepare(drafts)
        guard case .entries(let entries) = try await submit(work) else { preconditionFailure() }
        return entries
    }

    /// Appends the drafts, blocking the calling thread until they are durable (for command-line
    /// tools and tests; async code uses the async form).
    @discardableResult
    public func append(_ drafts: [EntryDraft]) throws(LedgerError) -> [SignedEntry] {
        guard case .entries(let entries) = try submitAndWait(try prepare(drafts)) else { preconditionFailure() }
        return entries
    }

    /// Queues the drafts and returns at once; `completion` is called on the writer's storage queue
    /// once they are durable (or failed). Throws, queueing nothing, when the drafts are invalid
    /// or the queue is full. Requests are written in the order they are queued, so a caller that
    /// queues under its own lock knows the seqs its entries will get.
    public func enqueue(_ drafts: [EntryDraft], completion: @escaping @Sendable (Result<[SignedEntry], LedgerError>) -> Void) throws(LedgerError) {
        let work = try prepare(drafts)
        try enqueue(
            Request(work: work) { result in
                completion(result.map { outcome in
                    guard case .entries(let entries) = outcome else { preconditionFailure() }
                    return entries
                })
            })
    }

    /// Appends caller-built bodies after checking each against the contract: canonical form,
    /// size, no floats or nulls, the next seq, the right `prev`, non-decreasing time, our key id.
    @discardableResult
    public func appendBodies(_ bodies: [[UInt8]]) throws(LedgerError) -> [SignedEntry] {
        guard case .entries(let entries) = try submitAndWait(.bodies(bodies)) else { preconditionFailure() }
        return entries
    }

    /// Signs and durably stores a checkpoint of everything appended before the call, after
    /// checking that it extends the previous checkpoint.
    @discardableResult
    public func checkpoint() throws(LedgerError) -> String {
        guard case .checkpoint(let note) = try submitAndWait(.checkpoint) else { preconditionFailure() }
        return note
    }

    /// The async form of `checkpoint()`.
    @discardableResult
    public func checkpoint() async throws(LedgerError) -> String {
        guard case .checkpoint(let note) = try await submit(.checkpoint) else { preconditionFailure() }
        return note
    }

    /// Rotates the signing key (FORMAT §10.7): appends a `key.rotated` entry signed by the
    /// current key, after which `next` signs every entry and checkpoint. Before the entry is
    /// written, `next` is kept in `signing.key.next` and the keys file names it; once the entry is
    /// durable, `next` replaces `signing.key`. Returns the rotation entry.
    @discardableResult
    public func rotateKey(to next: SigningKey, reason: KeyRotation.Reason, actor: String) throws(LedgerError) -> SignedEntry {
        guard writable else { throw LedgerError(.readOnly, "this ledger was opened without its signing key") }
        guard next.verifier.type == .ed25519 else { throw LedgerError(.badKey, "a log key has type 0x01") }
        let rotation = KeyRotation(newKey: next.verifier, reason: reason)
        // Checked here for a clear error at once; the writer checks again at the entry's seq.
        var trial = stateLock.withLock { keyChain }
        try trial.rotate(at: max(size, trial.links[trial.links.count - 1].firstSeq), signedBy: trial.current.id, rotation)
        let draft = EntryDraft(kind: KeyRotation.kind, actor: actor, payload: rotation.payload)
        try EntryBody.validateFields(kind: draft.kind, actor: draft.actor, payload: draft.payload)
        guard case .entries(let entries) = try submitAndWait(.rotation(draft, rotation, next: next)) else { preconditionFailure() }
        return entries[0]
    }

    /// The keys the log has signed with, as far as durable.
    public var keys: KeyChain { stateLock.withLock { keyChain } }

    /// The key that signs now, nil when read-only.
    var currentSigner: SigningKey? { currentSigningKey.withLock { $0 } }

    /// Validates drafts and encodes their heads on the caller's thread, off the writer's path.
    private func prepare(_ drafts: [EntryDraft]) throws(LedgerError) -> Request.Work {
        guard let signer = currentSigner else { throw LedgerError(.readOnly, "this ledger was opened without its signing key") }
        var heads = [[UInt8]]()
        heads.reserveCapacity(drafts.count)
        for draft in drafts {
            // A time past 2^53 − 1 would be written and acknowledged, then refused by every
            // strict reader (outside review), and would hold every later entry's time up there.
            if let time = draft.time, !(0...JSONValue.integerMagnitudeMax).contains(time) {
                throw LedgerError(.badEntry, "time must be non-negative integer microseconds of at most 2^53 − 1")
            }
            try EntryBody.validateFields(kind: draft.kind, actor: draft.actor, payload: draft.payload)
            guard draft.kind != KeyRotation.kind else {
                throw LedgerError(.badEntry, "\(KeyRotation.kind) entries are written only by a key rotation")
            }
            heads.append(try Self.head(draft, key: signer.verifier.id))
        }
        return .drafts(drafts, heads: heads, key: signer.verifier.id)
    }

    private static func head(_ draft: EntryDraft, key: KeyID) throws(LedgerError) -> [UInt8] {
        let head = BodyLayout.head(actor: draft.actor, key: key, kind: draft.kind, payload: draft.payload, policy: draft.policy)
        guard head.count + BodyLayout.tailByteCountMax <= EntryBody.byteCountMax else {
            throw LedgerError(.bodyTooLarge, "the body would exceed \(EntryBody.byteCountMax) bytes")
        }
        return head
    }

    private func submit(_ work: Request.Work) async throws(LedgerError) -> Request.Outcome {
        let result: Result<Request.Outcome, LedgerError> = await withCheckedContinuation { continuation in
            do throws(LedgerError) {
                try enqueue(Request(work: work) { continuation.resume(returning: $0) })
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }

    private func submitAndWait(_ work: Request.Work) throws(LedgerError) -> Request.Outcome {
        let outcome = Handoff<Result<Request.Outcome, LedgerError>>()
        try enqueue(Request(work: work) { outcome.fulfil($0) })
        return try outcome.wait().get()
    }

    private func enqueue(_ request: Request) throws(LedgerError) {
        guard writable else { throw LedgerError(.readOnly, "this ledger was opened without its signing key") }
        queueCondition.lock()
        defer { queueCondition.unlock() }
        if let stopReason { throw stopReason }
        guard !isClosing else { throw LedgerError(.closed, "the ledger is closed") }
        guard queuedEntries + request.entryCount <= options.queueEntriesMax || queuedEntries == 0 else {
            throw LedgerError(
                .pushback, "the append queue holds \(queuedEntries) entries (limit \(options.queueEntriesMax)); retry shortly")
        }
        queue.append(request)
        queuedEntries += request.entryCount
        queueCondition.signal()
    }

    // MARK: The writer thread

    func startWriter() {
        writerStarted = true
        let thread = Thread { self.runWriter() }
        thread.name = "ledger-writer"
        thread.qualityOfService = .userInitiated
        thread.start()
    }

    /// Stage one of the pipeline (this thread): take a batch, build it on the chain, sign it on
    /// every core, and hand it to stage two (the serial `storage` queue), which writes, syncs,
    /// publishes and acknowledges. While stage two waits for `fdatasync`, stage one signs the next
    /// batches; stage two then writes all that are waiting with one `fdatasync`, so the sync rate
    /// never caps the append rate. `storageSlot` bounds the batches in between.
    private func runWriter() {
        let ledger = self
        var signer = currentSigner!
        var keys = stateLock.withLock { keyChain }
        var chain = ChainCursor(nextSeq: publishedSize, lastLeaf: lastLeaf, lastTime: lastTime, key: signer.verifier.id)
        var lastCheckpointRequest = Self.monotonicMicroseconds()
        var uncheckpointed = false
        while true {
            let (batch, closing) = nextBatch(checkpointDue: uncheckpointed ? lastCheckpointRequest + options.checkpointIntervalMicroseconds : nil)
            if let first = batch.first, case .checkpoint = first.work {
                storage.async { ledger.checkpointIfNeeded(answering: first) }
                uncheckpointed = false
                lastCheckpointRequest = Self.monotonicMicroseconds()
            } else if let first = batch.first, case .rotation(_, let rotation, let next) = first.work {
                // Travels alone: the outgoing key signs it, the incoming one every batch after.
                if let signed = buildRotation(first, rotation, next: next, signer: signer, keys: &keys, chain: &chain) {
                    storageSlot.wait()
                    signedLock.withLock { signedBatches.append(signed) }
                    storage.async { ledger.persistSigned() }
                    uncheckpointed = true
                    signer = next
                }
            } else if !batch.isEmpty, let signed = build(batch, signer: signer, chain: &chain) {
                storageSlot.wait()
                signedLock.withLock { signedBatches.append(signed) }
                storage.async { ledger.persistSigned() }
                uncheckpointed = true
            }
            if uncheckpointed, (closing && !skipFinalCheckpoint)
                || Self.monotonicMicroseconds() - lastCheckpointRequest >= options.checkpointIntervalMicroseconds
            {
                storage.async { ledger.checkpointIfNeeded() }
                uncheckpointed = false
                lastCheckpointRequest = Self.monotonicMicroseconds()
            }
            if closing && batch.isEmpty { break }
        }
        storage.sync {}
        checkpointer.sync {}
        queueCondition.lock()
        let rest = queue[queueHead...]
        queue = []
        queueHead = 0
        queueCondition.unlock()
        for request in rest { request.complete(.failure(stopReason ?? LedgerError(.closed, "the ledger is closed"))) }
        writerFinished.signal()
    }

    /// Runs on `storage`: prepares a checkpoint of what has been written and hands it to the
    /// checkpointer, which answers `request` (if any) once it is stored. Stops the ledger on failure.
    private func checkpointIfNeeded(answering request: Request? = nil) {
        let prepared = Result { () throws(LedgerError) in try prepareCheckpoint() }
        if case .failure(let error) = prepared { stop(error) }
        checkpointer.async {
            let result: Result<String, LedgerError>
            switch prepared {
            case .failure(let error): result = .failure(error)
            case .success(let job?):
                result = Result { () throws(LedgerError) in try self.finishCheckpoint(job) }
                if case .failure(let error) = result { self.stop(error) }
            case .success(nil):
                let current = self.stateLock.withLock { self.checkpointState?.note }
                result = current.map { .success($0) } ?? .failure(self.stopReason ?? LedgerError(.closed, "no checkpoint"))
            }
            request?.complete(result.map { .checkpoint($0) })
        }
    }

    /// Waits for work (or for a checkpoint to fall due), then takes the requests for one batch:
    /// a checkpoint request always travels alone, so it covers exactly what came before it.
    private func nextBatch(checkpointDue: Int64?) -> (batch: [Request], closing: Bool) {
        queueCondition.lock()
        defer { queueCondition.unlock() }
        while queueHead == queue.count && !isClosing {
            if let checkpointDue {
                let due = checkpointDue - Self.monotonicMicroseconds()
                if due <= 0 { return ([], false) }
                _ = queueCondition.wait(until: Date(timeIntervalSinceNow: Double(due) / 1_000_000))
                if queueHead == queue.count { return ([], false) }
            } else {
                queueCondition.wait()
            }
        }
        if stopReason != nil { return ([], true) }
        var batch = [Request]()
        var entries = 0
        while queueHead < queue.count {
            let request = queue[queueHead]
            if request.travelsAlone {
                if batch.isEmpty {
                    batch.append(request)
                    queueHead += 1
                    entries += request.entryCount
                }
                break
            }
            if !batch.isEmpty && entries + request.entryCount > options.batchEntriesMax { break }
            batch.append(request)
            entries += request.entryCount
            queueHead += 1
        }
        queuedEntries -= entries
        if queueHead == queue.count {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
        } else if queueHead > 4_096 {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        return (batch, isClosing && queueHead == queue.count)
    }

    /// After a storage failure nothing more is written: what is on disk is unknown until reopened.
    private func stop(_ error: LedgerError) {
        queueCondition.lock()
        if stopReason == nil {
            stopReason = LedgerError(.storageFailure, "the ledger stopped after a storage failure; reopen it (\(error.reason))")
        }
        isClosing = true
        queueCondition.unlock()
    }

    /// One entry of a batch under construction: where its frame sits in the batch buffer.
    fileprivate struct Slot {
        var frameStart: Int
        var bodyLength: Int
        var leaf: Hash
        var seq: UInt64
        var time: Int64
        var prev: Hash
    }

    /// A batch built and signed by stage one, waiting for stage two.
    struct SignedBatch {
        var buffer: [UInt8]
        fileprivate var slots: [Slot]
        var accepted: [(request: Request, slots: Range<Int>)]
        /// Caller-built bodies, decoded once while checking them, by slot index.
        var decodedBodies: [Int: EntryBody]
        /// The chain after the batch's last entry.
        var end: ChainCursor
        /// The key that signed the batch.
        var signer: SigningKey
        /// For a rotation: the key chain after it and the incoming key.
        var rotation: (keys: KeyChain, next: SigningKey)?
    }

    /// Builds a rotation entry: first the incoming key is kept in `signing.key.next` and the keys
    /// file names it (so a crash after the entry is durable can finish the rotation), then the
    /// entry is built and signed by the outgoing key. A failure answers the request and writes
    /// no entry; recovery removes what was prepared.
    private func buildRotation(
        _ request: Request, _ rotation: KeyRotation, next: SigningKey, signer: SigningKey, keys: inout KeyChain, chain: inout ChainCursor
    ) -> SignedBatch? {
        var after = keys
        do throws(LedgerError) {
            try after.rotate(at: chain.nextSeq, signedBy: signer.verifier.id, rotation)
            if FileIO.exists(directory.nextSigningKeyFile) { try FileIO.remove(directory.nextSigningKeyFile) }
            try FileIO.createExclusive(directory.nextSigningKeyFile, Array((next.privateText + "\n").utf8), mode: 0o600)
            try directory.writeKeyChain(after)
        } catch {
            request.complete(.failure(error))
            return nil
        }
        guard var signed = build([request], signer: signer, chain: &chain) else {
            // The entry was refused after the keys file named it: stop, so that reopening
            // (which drops a rotation the log does not hold) sets the files straight.
            stop(LedgerError(.badKeyRotation, "the rotation entry was refused after the keys file named it"))
            return nil
        }
        signed.rotation = (after, next)
        keys = after
        chain.rotateKey(to: next.verifier.id)
        return signed
    }

    /// Builds the batch's frames on the chain (rejected requests are answered at once and leave
    /// no trace) and signs them with `signer`; nil when nothing was accepted.
    private func build(_ batch: [Request], signer: SigningKey, chain: inout ChainCursor) -> SignedBatch? {
        var buffer = [UInt8]()
        buffer.reserveCapacity(batch.reduce(0) { $0 + $1.entryCount } * 400)
        var slots = [Slot]()
        var accepted = [(request: Request, slots: Range<Int>)]()
        var decodedBodies: [Int: EntryBody] = [:]
        var cursor = chain
        for request in batch {
            let mark = (buffer: buffer.count, slots: slots.count, cursor: cursor)
            do throws(LedgerError) {
                try build(request, into: &buffer, slots: &slots, decodedBodies: &decodedBodies, chain: &cursor)
                accepted.append((request, mark.slots..<slots.count))
            } catch {
                buffer.removeSubrange(mark.buffer...)
                slots.removeSubrange(mark.slots...)
                decodedBodies = decodedBodies.filter { $0.key < mark.slots }
                cursor = mark.cursor
                request.complete(.failure(error))
            }
        }
        guard !slots.isEmpty else { return nil }
        signAndChecksum(&buffer, slots, signer: signer)
        chain = cursor
        return SignedBatch(
            buffer: buffer, slots: slots, accepted: accepted, decodedBodies: decodedBodies, end: cursor, signer: signer)
    }

    /// Stage two: every signed batch waiting, written with one `fdatasync`, then the tiles, then
    /// what readers see, then the answers. (An earlier call may already have taken them all.)
    private func persistSigned() {
        let batches = signedLock.withLock {
            defer { signedBatches.removeAll() }
            return signedBatches
        }
        guard !batches.isEmpty else { return }
        defer { for _ in batches { storageSlot.signal() } }
        if let stopReason {
            for batch in batches { for (request, _) in batch.accepted { request.complete(.failure(stopReason)) } }
            return
        }
        do throws(LedgerError) {
            let dataSync = try stateLock.locked { () throws(LedgerError) -> File? in
                for batch in batches {
                    try batch.buffer.withRawBytes { (raw) throws(LedgerError) in
                        try store.append(frames: raw, frameOffsets: batch.slots.map { UInt32($0.frameStart) })
                    }
                }
                return store.takeDataSync()
            }
            // Outside the state lock: a sync can take 100 ms and more on a busy disk (measured
            // here), and readers of what is already published need not wait for it. Nothing of
            // these batches is readable until it is published below.
            if let dataSync {
                options.beforeDataSync?()
                do throws(LedgerError) {
                    try dataSync.sync()
                } catch {
                    stateLock.withLock { store.dataSyncFailed(error) }
                    throw error
                }
            }
            try stateLock.locked { () throws(LedgerError) in
                for batch in batches {
                    for slot in batch.slots { try tiles.append(slot.leaf) }
                    counters.entries += batch.slots.count
                }
                for batch in batches {
                    if let (keys, next) = batch.rotation {
                        keyChain = keys
                        signingKeys.append(next)
                        currentSigningKey.withLock { $0 = next }
                    }
                }
                let last = batches[batches.count - 1].end
                publishedSize = last.nextSeq
                counters.batches += 1
                lastLeaf = last.lastLeaf
                lastTime = last.lastTime
            }
            // A durable rotation: the incoming key becomes signing.key before anyone hears of it.
            if batches.contains(where: { $0.rotation != nil }) {
                try FileIO.replace(directory.signingKeyFile, with: directory.nextSigningKeyFile)
            }
        } catch {
            stop(error)
            for batch in batches { for (request, _) in batch.accepted { request.complete(.failure(error)) } }
            return
        }
        for batch in batches {
            for (request, range) in batch.accepted {
                request.complete(.success(.entries(range.map {
                    entry(
                        for: batch.slots[$0], request: request, index: $0 - range.lowerBound, decoded: batch.decodedBodies[$0],
                        key: batch.signer.verifier.id, in: batch.buffer)
                })))
            }
        }
    }

    /// Appends one request's frames (signature and checksum left blank) and advances the chain.
    private func build(
        _ request: Request, into buffer: inout [UInt8], slots: inout [Slot], decodedBodies: inout [Int: EntryBody],
        chain: inout ChainCursor
    ) throws(LedgerError) {
        // The chain is checked once the body is framed, as its leaf hash needs the bytes; a broken
        // rule rejects the whole request and `build(_:chain:)` removes what it framed.
        func frame(_ link: ChainCursor.Link, _ writeBody: (inout [UInt8]) -> Void) throws(LedgerError) {
            let seq = chain.nextSeq
            let prev = chain.lastLeaf
            let frameStart = buffer.count
            buffer.append(contentsOf: repeatElement(0, count: SegmentFormat.frameHeaderByteCount + SegmentFormat.signatureByteCount))
            let bodyStart = buffer.count
            writeBody(&buffer)
            let bodyLength = buffer.count - bodyStart
            guard bodyLength <= EntryBody.byteCountMax else {
                throw LedgerError(.bodyTooLarge, "the body has \(bodyLength) bytes; the limit is \(EntryBody.byteCountMax)", seq: seq)
            }
            let length = UInt32(SegmentFormat.signatureByteCount + bodyLength)
            withUnsafeBytes(of: length.littleEndian) { buffer.replaceSubrange(frameStart..<frameStart + 4, with: $0) }
            let leaf = buffer.withUnsafeBytes { MerkleHash.leaf(UnsafeRawBufferPointer(rebasing: $0[bodyStart...])) }
            try chain.advance(over: link, leaf: leaf)
            slots.append(Slot(frameStart: frameStart, bodyLength: bodyLength, leaf: leaf, seq: seq, time: link.time, prev: prev))
        }
        // A draft after its encoded head: the writer chooses seq and prev itself; only a draft's
        // own time can break the chain.
        func frame(_ draft: EntryDraft, head: [UInt8]) throws(LedgerError) {
            let link = ChainCursor.Link(
                seq: chain.nextSeq, prev: chain.lastLeaf, time: draft.time ?? max(options.clock(), chain.lastTime), key: chain.key)
            try frame(link) { out in
                out.append(contentsOf: head)
                BodyLayout.appendTail(prev: link.prev, seq: link.seq, time: link.time, to: &out)
            }
        }
        switch request.work {
        case .drafts(let drafts, var heads, let key):
            // Heads name the key current when they were encoded; a rotation since then changes it.
            if let current = chain.key, current != key {
                heads = []
                for draft in drafts { heads.append(try Self.head(draft, key: current)) }
            }
            for (draft, head) in zip(drafts, heads) { try frame(draft, head: head) }
        case .rotation(let draft, _, _):
            try frame(draft, head: try Self.head(draft, key: chain.key!))
        case .bodies(let bodies):
            for bytes in bodies {
                let body: EntryBody
                do {
                    body = try EntryBody.decode(bytes)
                } catch {
                    throw LedgerError(error.code, error.reason, seq: chain.nextSeq)
                }
                guard body.kind != KeyRotation.kind else {
                    throw LedgerError(.badEntry, "\(KeyRotation.kind) entries are written only by a key rotation", seq: chain.nextSeq)
                }
                try frame(ChainCursor.Link(body)) { $0.append(contentsOf: bytes) }
                decodedBodies[slots.count - 1] = body
            }
        case .checkpoint:
            preconditionFailure("checkpoint requests travel alone")
        }
    }

    /// Signs every entry and fills in its frame checksum, spread over all cores: Ed25519 signing
    /// is the writer's dominant cost.
    /// Read once: `activeProcessorCount` reads cgroup files on every call.
    static let cores = ProcessInfo.processInfo.activeProcessorCount

    private func signAndChecksum(_ buffer: inout [UInt8], _ slots: [Slot], signer: SigningKey) {
        // Small chunks, not one per core: the cores are shared with the tasks that queue the next
        // appends, and whoever is free takes the next chunk, so the writer rarely waits on a
        // chunk queued behind other work.
        let workers = slots.count >= 4 && Self.cores > 1 ? (slots.count + 1) / 2 : 1
        buffer.withUnsafeMutableBytes { raw in
            // Safe to share: each slot's frame is a disjoint range of the buffer, written by one worker.
            nonisolated(unsafe) let raw = raw
            Parallel.forEachChunk(of: slots.count, chunkCount: workers) { range in
                var message = SignedEntry.signatureContext + [UInt8](repeating: 0, count: Hash.byteCount)
                let contextLength = SignedEntry.signatureContext.count
                for index in range {
                    let slot = slots[index]
                    slot.leaf.withUnsafeBytes { leaf in
                        message.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: contextLength).copyMemory(from: leaf.baseAddress!, byteCount: 32) }
                    }
                    let frame = raw.baseAddress! + slot.frameStart
                    message.withUnsafeBytes { signer.sign($0, into: frame + SegmentFormat.frameHeaderByteCount) }
                    let payloadLength = SegmentFormat.signatureByteCount + slot.bodyLength
                    var crc = CRC32C.checksum(UnsafeRawBufferPointer(start: frame, count: 4))
                    crc = CRC32C.checksum(
                        UnsafeRawBufferPointer(start: frame + SegmentFormat.frameHeaderByteCount, count: payloadLength), seed: crc)
                    (frame + 4).storeBytes(of: crc.littleEndian, as: UInt32.self)
                }
            }
        }
    }

    private func entry(for slot: Slot, request: Request, index: Int, decoded: EntryBody?, key: KeyID, in buffer: [UInt8]) -> SignedEntry {
        let signatureStart = slot.frameStart + SegmentFormat.frameHeaderByteCount
        let bodyStart = signatureStart + SegmentFormat.signatureByteCount
        let bytes = Array(buffer[bodyStart..<bodyStart + slot.bodyLength])
        let body: EntryBody
        if let drafts = request.work.drafts {
            let draft = drafts[index]
            body = EntryBody(
                seq: slot.seq, time: slot.time, kind: draft.kind, actor: draft.actor, payload: draft.payload,
                policy: draft.policy, prev: slot.prev, key: key)
        } else {
            body = decoded!
        }
        return SignedEntry(
            body: body, bodyBytes: bytes, leafHash: slot.leaf,
            signature: Array(buffer[signatureStart..<signatureStart + SegmentFormat.signatureByteCount]))
    }

    // MARK: Checkpoints

    /// What a checkpoint waits for: files whose writes must be durable before it is signed.
    struct CheckpointJob {
        let checkpoint: Checkpoint
        let sync: PendingSync
    }

    /// Stage two's part of a checkpoint (fast, in memory): the root from the tiles, the check that
    /// it extends the previous checkpoint (the engine never signs two inconsistent ones), and the
    /// index and tile files to make durable. Nil when nothing was appended since the last one.
    func prepareCheckpoint() throws(LedgerError) -> CheckpointJob? {
        try stateLock.locked { () throws(LedgerError) in
            let size = publishedSize
            if let prepared = preparedCheckpoint, prepared.size == size { return nil }
            let root = try tiles.rootHash(size: size)
            if let previous = preparedCheckpoint, previous.size > 0 {
                do {
                    try MerkleProofs.verifyConsistency(
                        size1: previous.size, size2: size, root1: previous.root, root2: root,
                        proof: try tiles.buildConsistencyProof(size1: previous.size, size2: size))
                } catch {
                    throw LedgerError(.inconsistentCheckpoint, "refusing to sign a checkpoint that does not extend the previous one")
                }
            }
            let checkpoint = Checkpoint(origin: origin, size: size, root: root)
            preparedCheckpoint = checkpoint
            var sync = try store.takePendingSync()
            sync.add(tiles.takePendingSync())
            return CheckpointJob(checkpoint: checkpoint, sync: sync)
        }
    }

    /// The checkpointer's part, off the append path: sync the files, sign, store atomically,
    /// then publish. Jobs run in order on one serial queue.
    func finishCheckpoint(_ job: CheckpointJob) throws(LedgerError) -> String {
        try job.sync.perform()
        let signer = stateLock.withLock {
            let key = keyChain.key(forSeq: job.checkpoint.size)
            return signingKeys.last { $0.verifier == key }
        }
        guard let signer else { throw LedgerError(.wrongKey, "no signing key for a checkpoint of \(job.checkpoint.size) entries") }
        let note = try job.checkpoint.sign(with: signer).serialized
        // The history first: a checkpoint is published only once it is kept for good.
        try history.append(size: job.checkpoint.size, note: note)
        try FileIO.writeAtomically(directory.checkpointFile, Array(note.utf8))
        stateLock.withLock {
            checkpointState = (note, job.checkpoint)
            checkpointPublishedAt = Ledger.wallClockMicroseconds()
            counters.checkpoints += 1
        }
        return note
    }
}
