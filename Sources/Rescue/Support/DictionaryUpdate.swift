extension Dictionary {
    /// Changes the value at `key` in place, hashing the key once; the key must be present. A chain
    /// of `book[id]!.field = …` statements hashes the id once per statement, and hashing ids was
    /// most of the engines' `apply` (issue 19's profile).
    @inlinable
    mutating func update(_ key: Key, _ change: (inout Value) throws -> Void) rethrows {
        guard let index = index(forKey: key) else { preconditionFailure("no entry for \(key)") }
        try change(&values[index])
    }
}
