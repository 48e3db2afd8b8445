import Foundation

/// The validated preamble of a `.npy` file: dtype, order, shape and where the data starts; the
/// data after it must be exactly `byteCount` bytes.
struct NPYHeader {
    let version: UInt8
    let dtype: TensorDType
    let order: NPYOrder
    let shape: [Int]
    let dataStart: Int
    let byteCount: Int

    /// `[]` → 1×1, `[n]` → n×1, `[m, n]` → m×n (the parser rejects more dimensions).
    var matrixShape: (Int, Int) {
        switch shape.count {
        case 0: (1, 1)
        case 1: (shape[0], 1)
        default: (shape[0], shape[1])
        }
    }

    private static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    static func parse(_ bytes: Data, path: String) throws(TensorFileError) -> NPYHeader {
        guard bytes.count >= 8 else {
            if bytes.starts(with: magic.prefix(bytes.count)) && !bytes.isEmpty {
                throw .truncated(file: path, needed: 10, available: bytes.count)
            }
            throw .notNPY(file: path)
        }
        guard bytes.starts(with: magic) else { throw .notNPY(file: path) }
        let major = bytes[6], minor = bytes[7]
        guard (1...3).contains(major), minor == 0 else { throw .unsupportedNPYVersion(file: path, major: major, minor: minor) }
        let lengthSize = major == 1 ? 2 : 4
        guard bytes.count >= 8 + lengthSize else { throw .truncated(file: path, needed: 8 + lengthSize, available: bytes.count) }
        let headerLength = bytes[8..<(8 + lengthSize)].reversed().reduce(0) { $0 << 8 | Int($1) }
        let dataStart = 8 + lengthSize + headerLength
        guard dataStart <= bytes.count else { throw .truncated(file: path, needed: dataStart, available: bytes.count) }
        guard let text = String(bytes: bytes[(8 + lengthSize)..<dataStart], encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw .malformedHeader(file: path, reason: "the header is not valid UTF-8")
        }
        var literal = PythonLiteralParser(text: text, path: path)
        let header = try validated(literal.parseHeaderDictionary(), version: major, dataStart: dataStart, path: path)
        guard bytes.count - dataStart == header.byteCount else {
            throw .sizeMismatch(file: path, tensor: "array", expectedBytes: header.byteCount, actualBytes: bytes.count - dataStart)
        }
        return header
    }

    private static func validated(_ dictionary: [String: PythonLiteral], version: UInt8, dataStart: Int, path: String) throws(TensorFileError) -> NPYHeader {
        let expected: Set = ["descr", "fortran_order", "shape"]
        if let extra = dictionary.keys.sorted().first(where: { !expected.contains($0) }) {
            throw .malformedHeader(file: path, reason: "unexpected key '\(extra)'")
        }
        guard case let .string(descr)? = dictionary["descr"] else {
            throw .malformedHeader(file: path, reason: "'descr' is missing or not a string")
        }
        guard case let .bool(fortran)? = dictionary["fortran_order"] else {
            throw .malformedHeader(file: path, reason: "'fortran_order' is missing or not True/False")
        }
        guard case let .tuple(shape)? = dictionary["shape"] else {
            throw .malformedHeader(file: path, reason: "'shape' is missing or not a tuple of integers")
        }
        let dtype: TensorDType
        switch descr {
        case "<f4": dtype = .float32
        case "<f8": dtype = .float64
        default: throw .unknownDType(file: path, tensor: "array", dtype: descr)
        }
        guard shape.count <= 2 else { throw .notAMatrix(file: path, tensor: "array", shape: shape) }
        let byteCount: Int
        switch checkedByteCount(shape: shape, elementSize: dtype.byteCount) {
        case let .success(count): byteCount = count
        case let .failure(problem): throw .invalidShape(file: path, tensor: "array", shape: shape, reason: problem.reason)
        }
        return NPYHeader(version: version, dtype: dtype, order: fortran ? .fortran : .c, shape: shape, dataStart: dataStart, byteCount: byteCount)
    }
}

/// A value in a `.npy` header dictionary.
enum PythonLiteral: Equatable {
    case string(String)
    case bool(Bool)
    case tuple([Int])
}

/// Parses the Python dict literal of a `.npy` header: string keys; values that are strings,
/// `True`/`False` or tuples of integers; optional trailing commas; whitespace around tokens.
struct PythonLiteralParser {
    private let characters: [Character]
    private var position = 0
    private let path: String

    init(text: String, path: String) {
        self.characters = Array(text)
        self.path = path
    }

    mutating func parseHeaderDictionary() throws(TensorFileError) -> [String: PythonLiteral] {
        var dictionary: [String: PythonLiteral] = [:]
        try expect("{")
        while true {
            skipWhitespace()
            if peek == "}" { position += 1; break }
            let key = try parseString()
            try expect(":")
            guard dictionary[key] == nil else { throw failure("key '\(key)' appears twice") }
            dictionary[key] = try parseValue()
            skipWhitespace()
            if peek == "," { position += 1 } else { try expect("}"); break }
        }
        skipWhitespace()
        guard position == characters.count else { throw failure("text after the dictionary") }
        return dictionary
    }

    private var peek: Character? { position < characters.count ? characters[position] : nil }

    private mutating func skipWhitespace() {
        while let c = peek, c.isWhitespace { position += 1 }
    }

    private func failure(_ reason: String) -> TensorFileError {
        .malformedHeader(file: path, reason: "\(reason) (at character \(position))")
    }

    private mutating func expect(_ character: Character) throws(TensorFileError) {
        skipWhitespace()
        guard peek == character else { throw failure("expected '\(character)'") }
        position += 1
    }

    private mutating func parseValue() throws(TensorFileError) -> PythonLiteral {
        skipWhitespace()
        switch peek {
        case "'", "\"": return .string(try parseString())
        case "(": return .tuple(try parseTuple())
        default:
            for (word, value) in [("True", true), ("False", false)] where characters[position...].starts(with: word) {
                position += word.count
                return .bool(value)
            }
            throw failure("expected a string, True, False or a tuple")
        }
    }

    private mutating func parseString() throws(TensorFileError) -> String {
        skipWhitespace()
        guard let quote = peek, quote == "'" || quote == "\"" else { throw failure("expected a quoted string") }
        position += 1
        var value = ""
        while let c = peek, c != quote {
            guard c != "\\" else { throw failure("escape sequences are not supported in header strings") }
            value.append(c)
            position += 1
        }
        guard peek == quote else { throw failure("unterminated string") }
        position += 1
        return value
    }

    private mutating func parseTuple() throws(TensorFileError) -> [Int] {
        try expect("(")
        var values: [Int] = []
        while true {
            skipWhitespace()
            if peek == ")" { position += 1; return values }
            values.append(try parseInteger())
            skipWhitespace()
            if peek == "," { position += 1 } else { try expect(")"); return values }
        }
    }

    private mutating func parseInteger() throws(TensorFileError) -> Int {
        let start = position
        if peek == "-" { position += 1 }
        while let c = peek, c.isASCII, c.isNumber { position += 1 }
        guard let value = Int(String(characters[start..<position])) else {
            throw failure("expected an integer that fits in 64 bits")
        }
        return value
    }
}
