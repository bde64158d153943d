extension String {
    /// Java's `String.compareTo` order (UTF-16 code units), which the Elastos SDKs use to sort keys and ids.
    /// Equals byte order for all text except astral characters compared with U+E000...U+FFFF.
    public func javaPrecedes(_ other: String) -> Bool {
        // Over the strings' own buffers when they have them (native strings do): sorting the members of DID
        // documents and credentials spent most of its time in the UTF-8 views' iterators.
        let compared = utf8.withContiguousStorageIfAvailable { a in
            other.utf8.withContiguousStorageIfAvailable { b -> Bool? in
                let n = Swift.min(a.count, b.count)
                var i = 0
                while i < n && a[i] == b[i] { i += 1 }
                if i == n { return a.count < b.count }
                return a[i] < 0xEE && b[i] < 0xEE ? a[i] < b[i] : nil
            }
        }
        if case let result?? = compared, let result { return result }
        var a = self.utf8.makeIterator()
        var b = other.utf8.makeIterator()
        // Byte order agrees with UTF-16 order until a byte >= 0xEE is involved; fall back then.
        while true {
            switch (a.next(), b.next()) {
            case (nil, nil): return false
            case (nil, _): return true
            case (_, nil): return false
            case let (x?, y?):
                if x == y { continue }
                if x < 0xEE && y < 0xEE { return x < y }
                return self.utf16.lexicographicallyPrecedes(other.utf16)
            }
        }
    }
}

extension JSONValue {
    /// The value with every object's members sorted by key (Java order), recursively, including objects
    /// nested in arrays. Array element order is kept.
    public func sortedRecursively() -> JSONValue {
        switch self {
        case .object(let obj): return .object(obj.sortedRecursively())
        case .array(let items): return .array(items.map { $0.sortedRecursively() })
        default: return self
        }
    }
}

extension JSONObject {
    public func sortedRecursively() -> JSONObject {
        // Documents signed by the SDKs arrive sorted already: then only nested values may need work.
        let inOrder = zip(members, members.dropFirst()).allSatisfy { $0.key.javaPrecedes($1.key) }
        // Positions are sorted, not the members: moving (String, JSONValue) pairs around retains and releases both.
        let sorted = inOrder ? members : members.indices.sorted { members[$0].key.javaPrecedes(members[$1].key) }.map { members[$0] }
        return JSONObject(uniqueMembers: sorted.map { member in
            switch member.value {
            case .object, .array: (member.key, member.value.sortedRecursively())
            default: member
            }
        })
    }
}
