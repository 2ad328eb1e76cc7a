import CLibpq
import Foundation

/// One connection to PostgreSQL through libpq. Statements take parameters only (`$1`, `$2`, …),
/// never text spliced into SQL; bulk rows go through `COPY … FROM STDIN`. Not shared between
/// threads: each user owns its connection.
public final class PostgresConnection {
    private var connection: OpaquePointer?

    /// Connects to `url` (`postgresql://user@host:port/database`, or any libpq connection
    /// string).
    public init(url: String) throws(PostgresError) {
        connection = PQconnectdb(url)
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.message(connection)
            PQfinish(connection)
            connection = nil
            throw PostgresError(state: nil, message: "cannot connect: \(message)")
        }
        // Notices ("already exists, skipping") are not for the user's terminal.
        try query("SET client_min_messages = warning")
    }

    deinit { close() }

    public func close() {
        if let connection { PQfinish(connection) }
        connection = nil
    }

    /// Whether the connection still works (a server restart breaks it).
    public var isHealthy: Bool { connection != nil && PQstatus(connection) == CONNECTION_OK }

    /// Runs one statement with text parameters (nil is SQL NULL) and returns its rows as text
    /// (nil for NULL).
    /// - Throws: `PostgresError` with the server's SQLSTATE in `state` (nil when the
    ///   connection failed or is closed), which callers match to tell conditions apart.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> [[String?]] {
        guard let connection else { throw PostgresError(state: nil, message: "the connection is closed") }
        let result: OpaquePointer? = Self.withCStrings(parameters) { values in
            PQexecParams(connection, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return []
        case PGRES_TUPLES_OK:
            var rows: [[String?]] = []
            let count = PQntuples(result)
            let columns = PQnfields(result)
            rows.reserveCapacity(Int(count))
            for row in 0..<count {
                rows.append((0..<columns).map { column in
                    PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
                })
            }
            return rows
        default:
            throw Self.error(result, connection)
        }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: () throws(PostgresError) -> T) throws(PostgresError) -> T {
        try query("BEGIN")
        do {
            let value = try body()
            try query("COMMIT")
            return value
        } catch {
            _ = try? query("ROLLBACK")
            throw error
        }
    }

    /// `COPY table (columns) FROM STDIN` in text format: `text` holds the rows, each a line of
    /// tab-separated, escaped fields (`appendField`, `\N` for NULL), sent in 1 MiB pieces.
    public func copy(into table: String, columns: [String], text: [UInt8]) throws(PostgresError) {
        guard let connection else { throw PostgresError(state: nil, message: "the connection is closed") }
        let start = PQexec(connection, "COPY \(table) (\(columns.joined(separator: ", "))) FROM STDIN")
        let status = PQresultStatus(start)
        defer { PQclear(start) }
        guard status == PGRES_COPY_IN else { throw Self.error(start, connection) }
        var offset = 0
        while offset < text.count {
            let end = min(text.count, offset + (1 << 20))
            let sent = text[offset..<end].withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(connection, $0.baseAddress, Int32($0.count)) }
            }
            guard sent == 1 else { throw PostgresError(state: nil, message: "COPY: \(Self.message(connection))") }
            offset = end
        }
        guard PQputCopyEnd(connection, nil) == 1 else { throw PostgresError(state: nil, message: "COPY: \(Self.message(connection))") }
        while let result = PQgetResult(connection) {
            defer { PQclear(result) }
            if PQresultStatus(result) != PGRES_COMMAND_OK { throw Self.error(result, connection) }
        }
    }

    /// Appends one COPY text field (escaped) to a row being built in `buffer`.
    public static func appendField(_ bytes: some Collection<UInt8>, to buffer: inout [UInt8]) {
        for byte in bytes {
            switch byte {
            case 0x5C: buffer += [0x5C, 0x5C]
            case 0x09: buffer += [0x5C, 0x74]
            case 0x0A: buffer += [0x5C, 0x6E]
            case 0x0D: buffer += [0x5C, 0x72]
            default: buffer.append(byte)
            }
        }
    }

    private static func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        let copies = strings.map { $0.map { strdup($0) } ?? nil }
        defer { for copy in copies { free(copy) } }
        return body(copies.map { $0.map { UnsafePointer($0) } })
    }

    private static func message(_ connection: OpaquePointer?) -> String {
        guard let connection, let text = PQerrorMessage(connection) else { return "unknown error" }
        return String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func error(_ result: OpaquePointer?, _ connection: OpaquePointer) -> PostgresError {
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        let text = PQresultErrorMessage(result).map { String(cString: $0) } ?? ""
        return PostgresError(state: state, message: (text.isEmpty ? message(connection) : text).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// A PostgreSQL failure: the SQLSTATE when the server gave one, and its message.
public struct PostgresError: Error, CustomStringConvertible {
    public let state: String?
    public let message: String

    public init(state: String?, message: String) {
        self.state = state
        self.message = message
    }

    public var description: String { (state.map { "SQLSTATE \($0): " } ?? "") + message }
}
