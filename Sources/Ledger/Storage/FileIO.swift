#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin, named file primitives over POSIX, shared with the other modules that keep files. Every
/// failure becomes a `storageFailure` naming the path.
public enum FileIO {
    static func failure(_ what: String, _ path: String) -> LedgerError {
        LedgerError(.storageFailure, "\(what) failed: \(String(cString: strerror(errno)))", file: path)
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func makeDirectory(_ path: String) throws(LedgerError) {
        if isDirectory(path) { return }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw failure("mkdir", path) }
    }

    /// Creates every missing folder along `path`, like `mkdir -p`.
    public static func makeDirectories(_ path: String) throws(LedgerError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            try makeDirectory(current)
        }
    }

    /// Makes a directory's entries (a created or renamed file) durable.
    public static func syncDirectory(_ path: String) throws(LedgerError) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY)
        guard descriptor >= 0 else { throw failure("open directory", path) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure("fsync directory", path) }
    }

    public static func listDirectory(_ path: String) throws(LedgerError) -> [String] {
        guard let directory = opendir(path) else { throw failure("opendir", path) }
        defer { closedir(directory) }
        var names = [String]()
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Removes a folder and everything in it (derived files only: tiles before a rebuild).
    public static func removeTree(_ path: String) throws(LedgerError) {
        for name in try listDirectory(path) {
            let child = path + "/" + name
            if isDirectory(child) {
                try removeTree(child)
            } else {
                guard unlink(child) == 0 else { throw failure("unlink", child) }
            }
        }
        guard rmdir(path) == 0 else { throw failure("rmdir", path) }
    }

    public static func readAll(_ path: String) throws(LedgerError) -> [UInt8] {
        let file = try File.open(path, flags: O_RDONLY)
        defer { file.close() }
        return try file.read(at: 0, count: Int(try file.size()))
    }

    /// Writes a whole small file so that a crash leaves either the old or the new content:
    /// write a temporary file, sync it, rename over the target, sync the folder.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(LedgerError) {
        let temporary = path + ".tmp"
        unlink(temporary)
        let file = try File.open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode)
        do {
            try file.write(bytes, at: 0)
            try file.sync()
            file.close()
        } catch {
            file.close()
            throw error
        }
        guard rename(temporary, path) == 0 else { throw failure("rename", path) }
        try syncDirectory(parent(of: path))
    }

    /// Renames `source` over `path` and syncs the folder, so a crash leaves one of the two.
    static func replace(_ path: String, with source: String) throws(LedgerError) {
        guard rename(source, path) == 0 else { throw failure("rename", path) }
        try syncDirectory(parent(of: path))
    }

    /// Removes a file and syncs the folder.
    static func remove(_ path: String) throws(LedgerError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw failure("unlink", path) }
        try syncDirectory(parent(of: path))
    }

    /// Creates a file that must not exist yet (refusing to overwrite, e.g. a secret key).
    public static func createExclusive(_ path: String, _ bytes: [UInt8], mode: mode_t) throws(LedgerError) {
        guard !exists(path) else { throw LedgerError(.alreadyExists, "refusing to overwrite an existing file", file: path) }
        let file = try File.open(path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode)
        defer { file.close() }
        try file.write(bytes, at: 0)
        try file.sync()
        try syncDirectory(parent(of: path))
    }

    /// Takes an exclusive advisory lock on `path` (created if missing), held until the returned
    /// file is closed or the process dies, so a crashed writer never leaves a stale lock. It waits
    /// up to `waitMilliseconds` first: a lock just released can stay held for a moment by a
    /// child process that another thread forked before the release and has not exec'd yet.
    public static func lockExclusively(_ path: String, waitMilliseconds: Int = 2_000) throws(LedgerError) -> File {
        let file = try File.open(path, flags: O_RDWR | O_CREAT, mode: 0o644)
        var waited = 0
        while flock(file.descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK, waited < waitMilliseconds else {
                let reason = errno == EWOULDBLOCK ? "another writer holds this ledger open" : String(cString: strerror(errno))
                file.close()
                throw LedgerError(.locked, reason, file: path)
            }
            usleep(10_000)
            waited += 10
        }
        return file
    }

    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// An open file descriptor with positional I/O. Not thread-safe; the ledger has one writer.
public final class File {
    let descriptor: Int32
    public let path: String
    private var isClosed = false

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    public static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(LedgerError) -> File {
        let descriptor = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw FileIO.failure("open", path) }
        return File(descriptor: descriptor, path: path)
    }

    /// Opens `name` (one path element) in the open directory `directory`: resolving one element
    /// instead of a whole path was most of the cost of opening a hash tile for an inclusion proof.
    public static func open(_ name: String, in directory: File, flags: Int32, mode: mode_t = 0o644) throws(LedgerError) -> File {
        let path = directory.path + "/" + name
        let descriptor = openat(directory.descriptor, name, flags | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw FileIO.failure("open", path) }
        return File(descriptor: descriptor, path: path)
    }

    deinit { close() }

    public func close() {
        if !isClosed {
            isClosed = true
            Glibc.close(descriptor)
        }
    }

    public func size() throws(LedgerError) -> UInt64 {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw FileIO.failure("fstat", path) }
        return UInt64(info.st_size)
    }

    public func write(_ bytes: [UInt8], at offset: UInt64) throws(LedgerError) {
        let failure: LedgerError? = bytes.withUnsafeBytes { raw in
            do throws(LedgerError) {
                try write(raw, at: offset)
                return nil
            } catch { return error }
        }
        if let failure { throw failure }
    }

    func write(_ raw: UnsafeRawBufferPointer, at offset: UInt64) throws(LedgerError) {
        var written = 0
        while written < raw.count {
            let result = pwrite(descriptor, raw.baseAddress! + written, raw.count - written, off_t(offset) + off_t(written))
            if result < 0 {
                if errno == EINTR { continue }
                throw FileIO.failure("pwrite", path)
            }
            written += result
        }
    }

    public func read(at offset: UInt64, count: Int) throws(LedgerError) -> [UInt8] {
        var failure: LedgerError?
        // Uninitialised: a whole 64 MiB segment is read at once, and zero-filling it first costs.
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let result = pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = FileIO.failure("pread", path)
                    break
                }
                if result == 0 { break }
                done += result
            }
            initialized = done
        }
        if let failure { throw failure }
        return bytes
    }

    /// Makes written data durable (metadata only as far as needed to read it back).
    public func sync() throws(LedgerError) {
        guard fdatasync(descriptor) == 0 else { throw FileIO.failure("fdatasync", path) }
    }

    /// A second descriptor for the same open file, owned (and closed) separately.
    func duplicate() throws(LedgerError) -> File {
        let copy = dup(descriptor)
        guard copy >= 0 else { throw FileIO.failure("dup", path) }
        return File(descriptor: copy, path: path)
    }

    public func truncate(to length: UInt64) throws(LedgerError) {
        guard ftruncate(descriptor, off_t(length)) == 0 else { throw FileIO.failure("ftruncate", path) }
    }
}

/// Files and folders whose writes must be made durable together (before a checkpoint covers
/// them); performing it syncs and closes the files, then syncs the folders (deepest first).
/// Unchecked because its `File`s are handed over, not shared: the writer gives up the set when it
/// queues it for the checkpointer, which alone performs it (ownership the compiler cannot see
/// through a dispatch queue).
struct PendingSync: @unchecked Sendable {
    var files: [File]
    var directories: [String]

    mutating func add(_ other: PendingSync) {
        files += other.files
        directories += other.directories
    }

    func perform() throws(LedgerError) {
        for file in files {
            try file.sync()
            file.close()
        }
        for directory in directories.sorted(by: { $0.count > $1.count }) { try FileIO.syncDirectory(directory) }
    }
}
