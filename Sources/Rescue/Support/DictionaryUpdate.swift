extension Dictionary {
    /// Changes the value at `key` in place, hashing the key once; the key must be present. A chain
    /// of `book[id]!.field = …` statements hashes the id once per statement, and hashing ids was
    /// most of the engines' `apply` (issue 19's profile). Returns what `change` returns.
    @inlinable
    @discardableResult
    mutating func update<Result>(_ key: Key, _ change: (inout Value) throws -> Result) rethrows -> Result {
        guard let index = index(forKey: key) else { preconditionFailure("no entry for \(key)") }
        return try change(&values[index])
    }
}
