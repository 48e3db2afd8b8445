/// Llama 3's split: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
/// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
///
/// Unlike GPT-2's, a letter run may be led by any one non-newline, non-letter, non-digit scalar
/// (`"\tword"`, `"(word"`), numbers come in groups of at most three, and whitespace containing a
/// line break splits right after its last `\r` or `\n`.
enum Llama3Split {
    static func split(_ text: UTF8Scalars, _ range: Range<Int>, into ends: inout [Int]) {
        let end = range.upperBound
        var offset = range.lowerBound
        while offset < end {
            let pieceEnd = pieceEnd(text, from: offset, end: end)
            ends.append(pieceEnd)
            offset = pieceEnd
        }
    }

    private static func pieceEnd(_ text: UTF8Scalars, from start: Int, end: Int) -> Int {
        let bytes = text.bytes
        if bytes[start] == UInt8(ascii: "'"),
           let length = Contraction.length(bytes, after: start + 1, end: end, ignoringCase: true) {
            return start + 1 + length
        }
        let (kind, length) = text.scalarClass(at: start)
        if kind.contains(.letter) {
            return Run.end(text, from: start + length, end: end) { $0.contains(.letter) }
        }
        let next = start + length < end ? text.scalarClass(at: start + length) : nil
        if !kind.contains(.newline), !kind.contains(.number), let (nextKind, nextLength) = next, nextKind.contains(.letter) {
            return Run.end(text, from: start + length + nextLength, end: end) { $0.contains(.letter) }
        }
        if kind.contains(.number) { return numberGroupEnd(text, from: start, end: end) }
        if kind.isOther { return otherEnd(text, from: start + length, end: end) }
        if bytes[start] == UInt8(ascii: " "), let (nextKind, nextLength) = next, nextKind.isOther {
            return otherEnd(text, from: start + length + nextLength, end: end)
        }
        return whitespaceEnd(text, from: start, end: end)
    }

    /// `\p{N}{1,3}` from `start`, a number scalar.
    private static func numberGroupEnd(_ text: UTF8Scalars, from start: Int, end: Int) -> Int {
        var offset = start
        for _ in 0..<3 where offset < end {
            let (kind, length) = text.scalarClass(at: offset)
            guard kind.contains(.number) else { break }
            offset += length
        }
        return offset
    }

    /// The rest of `[^\s\p{L}\p{N}]+[\r\n]*` after its first scalar.
    private static func otherEnd(_ text: UTF8Scalars, from offset: Int, end: Int) -> Int {
        let runEnd = Run.end(text, from: offset, end: end) { $0.isOther }
        return Run.end(text, from: runEnd, end: end) { $0.contains(.newline) }
    }

    /// `\s*[\r\n]+` (up to just after the run's last line break), else `\s+(?!\S)|\s+`.
    private static func whitespaceEnd(_ text: UTF8Scalars, from start: Int, end: Int) -> Int {
        var offset = start
        var afterLastNewline: Int?
        while offset < end {
            let (kind, length) = text.scalarClass(at: offset)
            guard kind.contains(.whitespace) else { break }
            offset += length
            if kind.contains(.newline) { afterLastNewline = offset }
        }
        return afterLastNewline ?? Run.whitespaceEnd(text, from: start, end: end)
    }
}
