import Foundation

/// BERT's basic tokenizer, as Hugging Face's `tokenizers` runs it (`BertNormalizer` then
/// `BertPreTokenizer`): it cleans the text (drops U+0000, U+FFFD and control characters, turns
/// whitespace into spaces), isolates CJK ideographs, strips accents (NFD, then drops nonspacing marks),
/// lower-cases, and splits at whitespace and around each punctuation character. It writes the words'
/// UTF-8 bytes back to back into a buffer and records where each word lies, so WordPiece can look
/// pieces up without building strings.
package struct BasicTokenizer: Sendable {
    /// Lower-case every character (Unicode's full lower-case mapping, one character at a time).
    let lowercase: Bool
    /// Decompose (NFD) and drop nonspacing marks (category Mn).
    let stripAccents: Bool
    /// Make each CJK ideograph a word of its own.
    let tokenizeChineseChars: Bool

    /// A basic tokenizer with these options.
    package init(lowercase: Bool, stripAccents: Bool, tokenizeChineseChars: Bool) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents
        self.tokenizeChineseChars = tokenizeChineseChars
    }

    /// The words of `text` (what WordPiece then splits into pieces).
    package func words(_ text: String) -> [String] {
        var bytes = [UInt8](), words = [Word]()
        split(text, bytes: &bytes, words: &words)
        return words.map { String(decoding: bytes[$0.start..<$0.start + $0.count], as: UTF8.self) }
    }

    /// One word of the output: `count` UTF-8 bytes from `start`, `characters` Unicode scalars.
    struct Word {
        var start: Int
        var count: Int
        var characters: Int
    }

    /// Splits `text` into words: their bytes go into `bytes` and their places into `words` (both
    /// emptied first).
    func split(_ text: String, bytes: inout [UInt8], words: inout [Word]) {
        bytes.removeAll(keepingCapacity: true)
        words.removeAll(keepingCapacity: true)
        var current = Word(start: 0, count: 0, characters: 0)

        @inline(__always) func endWord() {
            if current.count > 0 { words.append(current) }
            current = Word(start: bytes.count, count: 0, characters: 0)
        }
        @inline(__always) func append(_ c: Unicode.Scalar) {
            let before = bytes.count
            if c.value < 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: c.value))
            } else {
                UTF8.encode(c) { bytes.append($0) }
            }
            current.count += bytes.count - before
            current.characters += 1
        }
        @inline(__always) func isolated(_ c: Unicode.Scalar) {
            endWord()
            append(c)
            endWord()
        }
        // A normalized character: punctuation stands alone, anything else extends the current word.
        @inline(__always) func emit(_ c: Unicode.Scalar) {
            if TextCharacters.characterClass(c) == .punctuation { isolated(c) } else { append(c) }
        }

        let ascii = text.utf8.allSatisfy { $0 < 0x80 }
        if ascii {
            TextCharacters.bmp.withUnsafeBufferPointer { classes in
                for b in text.utf8 {
                    switch classes[Int(b)] {
                    case .control: continue
                    case .whitespace: endWord()
                    case .punctuation: isolated(Unicode.Scalar(b))
                    case .word, .mark:
                        bytes.append(lowercase && b >= 0x41 && b <= 0x5A ? b + 32 : b)
                        current.count += 1
                        current.characters += 1
                    }
                }
            }
            endWord()
            return
        }

        let source = stripAccents ? text.decomposedStringWithCanonicalMapping : text
        for c in source.unicodeScalars {
            let v = c.value
            switch TextCharacters.characterClass(c) {
            case .control: continue
            case .whitespace: endWord(); continue
            case .mark where stripAccents: continue
            default: break
            }
            if tokenizeChineseChars && TextCharacters.isChineseCharacter(v) { isolated(c); continue }
            if lowercase && v >= 0x80 && c.properties.changesWhenLowercased {
                for l in c.properties.lowercaseMapping.unicodeScalars { emit(l) }
            } else if lowercase && v >= 0x41 && v <= 0x5A {
                emit(Unicode.Scalar(UInt8(v + 32)))
            } else {
                emit(c)
            }
        }
        endWord()
    }
}

/// The character classes of BERT's tokenizer, as Hugging Face's `tokenizers` has them
/// (``classRuns``, generated from the library by `Scripts/bert_character_classes.py`).
enum TextCharacters {
    /// What the basic tokenizer does with a character.
    enum CharacterClass: UInt8 {
        /// A word character (letters, digits, symbols, unassigned code points, spacing marks).
        case word = 0
        /// Dropped when cleaning: NUL, U+FFFD and control characters (Cc, Cf, Co, Cs) other than tab,
        /// newline and carriage return.
        case control = 1
        /// Whitespace: tab, newline, carriage return and Unicode's White_Space; separates words.
        case whitespace = 2
        /// Punctuation: ASCII 33–47, 58–64, 91–96, 123–126 and Unicode's P* categories; a word of its own.
        case punctuation = 3
        /// A nonspacing mark (Mn), dropped when stripping accents.
        case mark = 4
    }

    /// The classes of U+0000...U+FFFF, one byte each, expanded from ``classRuns``.
    static let bmp: [CharacterClass] = {
        var table = [CharacterClass](repeating: .word, count: 0x10000)
        for (i, run) in classRuns.enumerated() {
            let first = Int(run >> 3)
            if first >= 0x10000 { break }
            let end = i + 1 < classRuns.count ? min(Int(classRuns[i + 1] >> 3), 0x10000) : 0x10000
            let value = CharacterClass(rawValue: UInt8(run & 7))!
            for v in first..<end { table[v] = value }
        }
        return table
    }()

    /// The class of `c`: a table look-up below U+10000, a binary search over ``classRuns`` above.
    @inline(__always) static func characterClass(_ c: Unicode.Scalar) -> CharacterClass {
        let v = c.value
        if v < 0x10000 { return bmp.withUnsafeBufferPointer { $0[Int(v)] } }
        return classRuns.withUnsafeBufferPointer { runs in
            var low = 0, high = runs.count - 1   // the last run whose first code point is <= v
            while low < high {
                let mid = (low + high + 1) / 2
                if runs[mid] >> 3 <= v { low = mid } else { high = mid - 1 }
            }
            return CharacterClass(rawValue: UInt8(runs[low] & 7))!
        }
    }

    /// Whether code point `v` is a CJK ideograph in BERT's sense (Hugging Face tokenizers' ranges, whose
    /// Extension E range starts at U+2B920, not U+2B820): the CJK Unified Ideographs block,
    /// Extensions A–E, and the CJK Compatibility Ideographs and their supplement (Hangul, Hiragana and
    /// Katakana are not).
    @inline(__always) static func isChineseCharacter(_ v: UInt32) -> Bool {
        (v >= 0x4E00 && v <= 0x9FFF) || (v >= 0x3400 && v <= 0x4DBF) || (v >= 0x20000 && v <= 0x2A6DF)
            || (v >= 0x2A700 && v <= 0x2B73F) || (v >= 0x2B740 && v <= 0x2B81F) || (v >= 0x2B920 && v <= 0x2CEAF)
            || (v >= 0xF900 && v <= 0xFAFF) || (v >= 0x2F800 && v <= 0x2FA1F)
    }
}
