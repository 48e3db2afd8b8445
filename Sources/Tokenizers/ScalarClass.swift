/// The character classes the pre-tokenizer regexes test: `\p{L}`, `\p{N}`, `\s` and `[\r\n]`.
///
/// The classes come from `Unicode.Scalar.Properties` (general category and White_Space), the same
/// definitions Oniguruma uses for Hugging Face's regexes. ASCII is looked up in a table, since it
/// is most of the text and the property lookups cost far more than the scan itself.
struct ScalarClass: OptionSet, Sendable {
    let rawValue: UInt8

    /// `\p{L}`: general category Lu, Ll, Lt, Lm or Lo.
    static let letter = ScalarClass(rawValue: 1)
    /// `\p{N}`: general category Nd, Nl or No.
    static let number = ScalarClass(rawValue: 2)
    /// `\s`: the White_Space property.
    static let whitespace = ScalarClass(rawValue: 4)
    /// `[\r\n]`, which the llama3 split treats apart from other whitespace.
    static let newline = ScalarClass(rawValue: 8)

    /// Neither letter, number nor whitespace: `[^\s\p{L}\p{N}]`.
    var isOther: Bool { rawValue & 0b0111 == 0 }

    /// The class of each ASCII scalar.
    static let ascii: [ScalarClass] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }

    /// The class of `scalar`, from its Unicode properties.
    static func classify(_ scalar: Unicode.Scalar) -> ScalarClass {
        var result: ScalarClass = []
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            result.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber:
            result.insert(.number)
        default:
            break
        }
        if properties.isWhitespace { result.insert(.whitespace) }
        if scalar == "\r" || scalar == "\n" { result.insert(.newline) }
        return result
    }
}

/// Reads the scalars of valid UTF-8 (a Swift `String`'s storage) by byte offset.
struct UTF8Scalars {
    let bytes: UnsafeBufferPointer<UInt8>
    private let asciiClasses: [ScalarClass]

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        self.asciiClasses = ScalarClass.ascii
    }

    /// The byte length of the scalar starting at `offset`.
    @inline(__always)
    func length(at offset: Int) -> Int {
        let lead = bytes[offset]
        if lead < 0x80 { return 1 }
        if lead < 0xE0 { return 2 }
        if lead < 0xF0 { return 3 }
        return 4
    }

    /// The class and byte length of the scalar starting at `offset`.
    @inline(__always)
    func scalarClass(at offset: Int) -> (ScalarClass, Int) {
        let lead = bytes[offset]
        if lead < 0x80 { return (asciiClasses[Int(lead)], 1) }
        let count = length(at: offset)
        var value = UInt32(lead) & (0xFF >> (count + 1))
        for index in 1..<count { value = value << 6 | UInt32(bytes[offset + index] & 0x3F) }
        return (ScalarClass.classify(Unicode.Scalar(value)!), count)
    }
}
