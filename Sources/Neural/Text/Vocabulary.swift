import Foundation

/// A set of UTF-8 byte strings with an integer id each, looked up without building a `String`: open
/// addressing over FNV-1a hashes, keys stored back to back in one byte array. ``WordPieceTokenizer``
/// keeps two: whole-word pieces and `##` continuations (stored without the `##`).
struct TokenTable: Sendable {
    /// The keys, back to back.
    private var bytes: [UInt8] = []
    /// Each entry's key: start in `bytes` and length.
    private var starts: [Int32] = []
    private var lengths: [Int32] = []
    /// Each entry's id.
    private var ids: [Int32] = []
    /// Open-addressing slots: an entry index, or -1 when empty. A power of two long.
    private var slots: [Int32]
    private var mask: Int

    /// An empty table sized for about `capacity` keys.
    init(capacity: Int) {
        var size = 16
        while size < 2 * capacity { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    /// FNV-1a's starting value.
    static let seed: UInt64 = 0xcbf2_9ce4_8422_2325

    /// `hash` extended by one byte (FNV-1a, 64 bits).
    @inline(__always) static func step(_ hash: UInt64, _ byte: UInt8) -> UInt64 {
        (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }

    /// The hash of `count` bytes at `p`.
    @inline(__always) static func hash(_ p: UnsafePointer<UInt8>, _ count: Int) -> UInt64 {
        var h = seed
        for i in 0..<count { h = step(h, p[i]) }
        return h
    }

    /// Adds `key` with `id`; a key already present takes the new id (the last line of a vocabulary
    /// file wins, as in Hugging Face's `load_vocab`).
    mutating func insert(_ key: some Collection<UInt8>, id: Int) {
        let key = Array(key)
        let h = key.withUnsafeBufferPointer { Self.hash($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count) }
        let found = key.withUnsafeBufferPointer { lookup($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count, hash: h) }
        if found >= 0 {
            // Overwrite the id of the entry whose key matched.
            var slot = Int(truncatingIfNeeded: h) & mask
            while true {
                let e = Int(slots[slot])
                if lengths[e] == Int32(key.count), bytes[Int(starts[e])..<Int(starts[e]) + key.count].elementsEqual(key) {
                    ids[e] = Int32(id)
                    return
                }
                slot = (slot + 1) & mask
            }
        }
        if 2 * (ids.count + 1) > slots.count { grow() }
        let entry = Int32(ids.count)
        starts.append(Int32(bytes.count))
        lengths.append(Int32(key.count))
        ids.append(Int32(id))
        bytes.append(contentsOf: key)
        place(entry, hash: h)
    }

    /// Puts entry `entry` (hash `h`) into the first free slot of its probe sequence.
    private mutating func place(_ entry: Int32, hash h: UInt64) {
        var slot = Int(truncatingIfNeeded: h) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = entry
    }

    /// Doubles the slots and re-places every entry.
    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        for e in 0..<ids.count {
            let start = Int(starts[e]), length = Int(lengths[e])
            let h = bytes.withUnsafeBufferPointer { Self.hash($0.baseAddress! + start, length) }
            place(Int32(e), hash: h)
        }
    }

    /// The id of the `count` bytes at `p`, whose hash is `hash`, or -1 when they are not a key.
    @inline(__always) func lookup(_ p: UnsafePointer<UInt8>, _ count: Int, hash: UInt64) -> Int32 {
        slots.withUnsafeBufferPointer { slots in
            bytes.withUnsafeBufferPointer { bytes in
                var slot = Int(truncatingIfNeeded: hash) & mask
                while true {
                    let e = Int(slots[slot])
                    if e < 0 { return -1 }
                    if Int(lengths[e]) == count && memcmp(bytes.baseAddress! + Int(starts[e]), p, count) == 0 {
                        return ids[e]
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    /// The id of `key`, or nil.
    func id(of key: String) -> Int? {
        var key = key
        return key.withUTF8 { buffer -> Int? in
            let p = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!
            let id = lookup(p, buffer.count, hash: Self.hash(p, buffer.count))
            return id >= 0 ? Int(id) : nil
        }
    }
}

/// A WordPiece vocabulary read from a `vocab.txt`: one token a line, its id the 0-based line number.
struct WordPieceVocabulary: Sendable {
    /// Each id's token, as written in the file.
    let tokens: [String]
    /// Tokens that do not start with `##` (a word's first piece).
    let wordStarts: TokenTable
    /// Tokens that start with `##`, stored without it (a word's later pieces).
    let continuations: TokenTable

    /// Reads `path`: lines split at `\n` (a `\r` before it is dropped, as Python's universal newlines
    /// do), a last line without newline counts, duplicates keep the last id.
    init(file path: String) throws {
        let data = try TokenizerError.readFile(path)
        var tokens = [String]()
        var starts = TokenTable(capacity: 32768), continuations = TokenTable(capacity: 8192)
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let all = raw.bindMemory(to: UInt8.self)
            var lineStart = 0
            var lineNumber = 0
            func take(_ end: Int) throws {
                lineNumber += 1
                var stop = end
                if stop > lineStart && all[stop - 1] == UInt8(ascii: "\r") { stop -= 1 }
                let slice = UnsafeBufferPointer(rebasing: all[lineStart..<stop])
                guard let token = String(validating: slice, as: UTF8.self) else {
                    throw TokenizerError(.notUTF8, path: path, line: lineNumber,
                                         "is not valid UTF-8; a vocabulary holds one UTF-8 token a line")
                }
                let id = tokens.count
                tokens.append(token)
                if slice.count >= 2 && slice[0] == UInt8(ascii: "#") && slice[1] == UInt8(ascii: "#") {
                    continuations.insert(slice[2...], id: id)
                } else {
                    starts.insert(slice, id: id)
                }
            }
            for i in 0..<all.count where all[i] == UInt8(ascii: "\n") {
                try take(i)
                lineStart = i + 1
            }
            if lineStart < all.count { try take(all.count) }
        }
        self.tokens = tokens
        self.wordStarts = starts
        self.continuations = continuations
    }

    /// The id of `token` (with its `##` when it has one), or nil.
    func id(of token: String) -> Int? {
        if token.hasPrefix("##") { return continuations.id(of: String(token.dropFirst(2))) }
        return wordStarts.id(of: token)
    }
}
