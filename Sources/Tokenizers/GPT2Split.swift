/// GPT-2's split, `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
///
/// At each offset the first alternative that matches wins, as in the regex: a contraction, then a
/// run of letters, numbers or other characters (each optionally led by one space), then whitespace.
enum GPT2Split {
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
           let length = Contraction.length(bytes, after: start + 1, end: end, ignoringCase: false) {
            return start + 1 + length
        }
        var (kind, length) = text.scalarClass(at: start)
        var runStart = start
        if bytes[start] == UInt8(ascii: " "), start + 1 < end {
            let (next, nextLength) = text.scalarClass(at: start + 1)
            if !next.contains(.whitespace) {
                (kind, length, runStart) = (next, nextLength, start + 1)
            }
        }
        if kind.contains(.letter) { return Run.end(text, from: runStart + length, end: end) { $0.contains(.letter) } }
        if kind.contains(.number) { return Run.end(text, from: runStart + length, end: end) { $0.contains(.number) } }
        if kind.isOther { return Run.end(text, from: runStart + length, end: end) { $0.isOther } }
        return Run.whitespaceEnd(text, from: start, end: end)
    }
}

/// The contractions `'s 't 're 've 'm 'll 'd` of the GPT-2 and Llama 3 splits.
enum Contraction {
    /// The length of the contraction suffix at `offset` (after the apostrophe), or `nil`.
    static func length(_ bytes: UnsafeBufferPointer<UInt8>, after offset: Int, end: Int, ignoringCase: Bool) -> Int? {
        func byte(_ index: Int) -> UInt8? {
            guard offset + index < end else { return nil }
            let value = bytes[offset + index]
            return ignoringCase && (0x41...0x5A).contains(value) ? value | 0x20 : value
        }
        switch byte(0) {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"): return 1
        case UInt8(ascii: "r"), UInt8(ascii: "v"): return byte(1) == UInt8(ascii: "e") ? 2 : nil
        case UInt8(ascii: "l"): return byte(1) == UInt8(ascii: "l") ? 2 : nil
        default: return nil
        }
    }
}

/// Scans over runs of one class, shared by the splits.
enum Run {
    /// The end of the run of scalars satisfying `belongs`, starting at `offset`.
    @inline(__always)
    static func end(_ text: UTF8Scalars, from offset: Int, end: Int, _ belongs: (ScalarClass) -> Bool) -> Int {
        var offset = offset
        while offset < end {
            let (kind, length) = text.scalarClass(at: offset)
            guard belongs(kind) else { break }
            offset += length
        }
        return offset
    }

    /// The end of `\s+(?!\S)|\s+` at `start`, a whitespace scalar.
    ///
    /// The whole run when it ends the text; otherwise all but its last scalar, which then leads
    /// the next piece (`"  word"` splits as `" "`, `" word"`); a single scalar stays alone.
    static func whitespaceEnd(_ text: UTF8Scalars, from start: Int, end: Int) -> Int {
        var offset = start
        var lastStart = start
        while offset < end {
            let (kind, length) = text.scalarClass(at: offset)
            guard kind.contains(.whitespace) else { break }
            lastStart = offset
            offset += length
        }
        if offset == end || lastStart == start { return offset }
        return lastStart
    }
}
