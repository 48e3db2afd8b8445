/// GPT-2's byte-to-character mapping, which spells every byte as one printable character.
///
/// Byte-level BPE vocabularies store tokens in this alphabet so that a space (`Ġ`), a newline
/// (`Ċ`) or half of a UTF-8 sequence is still a visible character. Printable Latin-1 bytes map to
/// themselves; the other 68 bytes map, in byte order, to U+0100 onward.
enum ByteLevelAlphabet {
    /// The character for each byte, indexed by byte.
    static let scalarForByte: [Unicode.Scalar] = {
        var scalars = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if isPrintable(byte) {
                scalars[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                scalars[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return scalars
    }()

    /// The byte each alphabet character stands for, indexed by scalar value, or -1 off the alphabet.
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 256 + 68)
        for (byte, scalar) in scalarForByte.enumerated() { table[Int(scalar.value)] = Int16(byte) }
        return table
    }()

    /// Whether GPT-2 keeps `byte` as its own character: `!`…`~`, `¡`…`¬` and `®`…`ÿ`.
    private static func isPrintable(_ byte: Int) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// `bytes` spelled in the alphabet, as vocabulary tokens are.
    static func spell<S: Sequence<UInt8>>(_ bytes: S) -> String {
        var text = String.UnicodeScalarView()
        for byte in bytes { text.append(scalarForByte[Int(byte)]) }
        return String(text)
    }

    /// The bytes `token` spells, or `nil` if a character is off the alphabet (the token is raw text).
    static func bytes(of token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            let value = Int(scalar.value)
            guard value < byteForScalar.count, byteForScalar[value] >= 0 else { return nil }
            bytes.append(UInt8(byteForScalar[value]))
        }
        return bytes
    }
}
