import Foundation

/// BERT's basic tokenizer, as Hugging Face's `tokenizers` runs it (`BertNormalizer` then
/// `BertPreTokenizer`): it cleans the text (drops U+0000, U+FFFD and control characters, turns
/// whitespace into spaces), isolates CJK ideographs, strips accents (NFD, then drops nonspacing marks),
/// lower-cases, and splits at whitespace and around each punctuation character. It writes the words'
/// UTF-8 bytes back to back into a buffer and records where each word lies, so WordPiece can look
/// pieces up without building strings.
struct BasicTokenizer: Sendable {
    /// Lower-case every character (Unicode's full lower-case mapping, one character at a time).
    let lowercase: Bool
    /// Decompose (NFD) and drop nonspacing marks (category Mn).
    let stripAccents: Bool
    /// Make each CJK ideograph a word of its own.
    let tokenizeChineseChars: Bool

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
            if TextCharacters.isPunctuation(c) { isolated(c) } else { append(c) }
        }

        let ascii = text.utf8.allSatisfy { $0 < 0x80 }
        if ascii {
            for b in text.utf8 {
                switch TextCharacters.asciiClass[Int(b)] {
                case .drop: continue
                case .space: endWord()
                case .punctuation: isolated(Unicode.Scalar(b))
                case .letter:
                    let lower = lowercase && b >= 0x41 && b <= 0x5A ? b + 32 : b
                    bytes.append(lower)
                    current.count += 1
                    current.characters += 1
                }
            }
            endWord()
            return
        }

        let source = stripAccents ? text.decomposedStringWithCanonicalMapping : text
        for c in source.unicodeScalars {
            let v = c.value
            if v == 0 || v == 0xFFFD || TextCharacters.isControl(c) { continue }
            if TextCharacters.isWhitespace(c) { endWord(); continue }
            if tokenizeChineseChars && TextCharacters.isChineseCharacter(v) { isolated(c); continue }
            if stripAccents && v >= 0x300 && c.properties.generalCategory == .nonspacingMark { continue }
            if lowercase && v >= 0x80 {
                if c.properties.changesWhenLowercased {
                    for l in c.properties.lowercaseMapping.unicodeScalars { emit(l) }
                } else {
                    emit(c)
                }
            } else if lowercase && v >= 0x41 && v <= 0x5A {
                emit(Unicode.Scalar(UInt8(v + 32)))
            } else {
                emit(c)
            }
        }
        endWord()
    }
}

/// The character classes BERT's tokenizer uses, as Hugging Face's `tokenizers` defines them.
enum TextCharacters {
    /// What the basic tokenizer does with an ASCII byte.
    enum ASCIIClass { case drop, space, punctuation, letter }

    /// Each ASCII byte's class: NUL and the C0 controls other than tab, newline and carriage return
    /// and DEL are dropped; tab, newline, carriage return and space separate words; 33–47, 58–64,
    /// 91–96 and 123–126 are punctuation; the rest (letters and digits) are word characters.
    static let asciiClass: [ASCIIClass] = (0..<128).map { (b: Int) -> ASCIIClass in
        switch b {
        case 9, 10, 13, 32: return .space
        case 0..<32, 127: return .drop
        case 33...47, 58...64, 91...96, 123...126: return .punctuation
        default: return .letter
        }
    }

    /// Whether `c` is removed as a control character: general category Cc, Cf, Cs, Co or Cn, except
    /// tab, newline and carriage return (which are whitespace).
    @inline(__always) static func isControl(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return asciiClass[Int(c.value)] == .drop }
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// Whether `c` separates words: tab, newline, carriage return, or Unicode's White_Space property.
    @inline(__always) static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return asciiClass[Int(c.value)] == .space }
        return c.properties.isWhitespace
    }

    /// Whether `c` is punctuation: ASCII 33–47, 58–64, 91–96, 123–126, or a Unicode category P*.
    @inline(__always) static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return asciiClass[Int(c.value)] == .punctuation }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// Whether code point `v` is a CJK ideograph in BERT's sense: the CJK Unified Ideographs block,
    /// Extensions A–E, and the CJK Compatibility Ideographs and their supplement (Hangul, Hiragana and
    /// Katakana are not).
    @inline(__always) static func isChineseCharacter(_ v: UInt32) -> Bool {
        (v >= 0x4E00 && v <= 0x9FFF) || (v >= 0x3400 && v <= 0x4DBF) || (v >= 0x20000 && v <= 0x2A6DF)
            || (v >= 0x2A700 && v <= 0x2B73F) || (v >= 0x2B740 && v <= 0x2B81F) || (v >= 0x2B820 && v <= 0x2CEAF)
            || (v >= 0xF900 && v <= 0xFAFF) || (v >= 0x2F800 && v <= 0x2FA1F)
    }
}
