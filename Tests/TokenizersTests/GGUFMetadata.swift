import Foundation
@testable import Tokenizers

/// A test-only reader of a GGUF file's metadata key-value pairs (not its tensors).
///
/// It exists to check the committed vocabulary fixture against the model itself when the model
/// is cached; LoRAKit's real GGUF reader lives elsewhere.
enum GGUFMetadata {
    indirect enum Value: Equatable {
        case unsigned(UInt64)
        case signed(Int64)
        case float(Double)
        case bool(Bool)
        case string(String)
        case array([Value])

        var string: String? { if case .string(let text) = self { text } else { nil } }
        var bool: Bool? { if case .bool(let flag) = self { flag } else { nil } }
        var int: Int? {
            switch self {
            case .unsigned(let value): Int(exactly: value)
            case .signed(let value): Int(exactly: value)
            default: nil
            }
        }
        var array: [Value]? { if case .array(let values) = self { values } else { nil } }
    }

    struct FormatError: Error, CustomStringConvertible {
        var description: String
    }

    /// The metadata of the GGUF file at `url`.
    static func read(_ url: URL) throws -> [String: Value] {
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        return try data.withUnsafeBytes { bytes in
            var reader = Reader(bytes: bytes)
            guard try reader.scalar(UInt32.self) == 0x4655_4747 else { throw FormatError(description: "not a GGUF file") }
            let version = try reader.scalar(UInt32.self)
            guard version == 2 || version == 3 else { throw FormatError(description: "GGUF version \(version)") }
            _ = try reader.scalar(UInt64.self)  // tensor count
            let count = try reader.scalar(UInt64.self)
            var metadata: [String: Value] = [:]
            for _ in 0..<count {
                let key = try reader.string()
                metadata[key] = try reader.value(type: reader.scalar(UInt32.self))
            }
            return metadata
        }
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        mutating func scalar<T: FixedWidthInteger>(_: T.Type) throws -> T {
            guard offset + MemoryLayout<T>.size <= bytes.count else { throw FormatError(description: "truncated at \(offset)") }
            defer { offset += MemoryLayout<T>.size }
            return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }

        mutating func string() throws -> String {
            let length = Int(try scalar(UInt64.self))
            guard offset + length <= bytes.count else { throw FormatError(description: "truncated string at \(offset)") }
            defer { offset += length }
            return String(decoding: bytes[offset..<(offset + length)], as: UTF8.self)
        }

        mutating func value(type: UInt32) throws -> Value {
            switch type {
            case 0: return .unsigned(UInt64(try scalar(UInt8.self)))
            case 1: return .signed(Int64(try scalar(Int8.self)))
            case 2: return .unsigned(UInt64(try scalar(UInt16.self)))
            case 3: return .signed(Int64(try scalar(Int16.self)))
            case 4: return .unsigned(UInt64(try scalar(UInt32.self)))
            case 5: return .signed(Int64(try scalar(Int32.self)))
            case 6: return .float(Double(Float(bitPattern: try scalar(UInt32.self))))
            case 7: return .bool(try scalar(UInt8.self) != 0)
            case 8: return .string(try string())
            case 9:
                let elementType = try scalar(UInt32.self)
                let count = Int(try scalar(UInt64.self))
                return .array(try (0..<count).map { _ in try value(type: elementType) })
            case 10: return .unsigned(try scalar(UInt64.self))
            case 11: return .signed(try scalar(Int64.self))
            case 12: return .float(Double(bitPattern: try scalar(UInt64.self)))
            default: throw FormatError(description: "unknown value type \(type)")
            }
        }
    }

    /// The tokenizer metadata of `metadata`, keyed as `TokenizerVocabulary.Key` names them.
    static func vocabulary(_ metadata: [String: Value]) throws -> TokenizerVocabulary {
        typealias Key = TokenizerVocabulary.Key
        func strings(_ key: String) throws -> [String] {
            guard let values = metadata[key]?.array else { throw FormatError(description: "no \(key)") }
            return values.compactMap(\.string)
        }
        return TokenizerVocabulary(
            tokens: try strings(Key.tokens),
            merges: try strings(Key.merges),
            tokenTypes: (metadata[Key.tokenTypes]?.array ?? []).compactMap { $0.int.map(Int32.init) },
            preTokenizer: metadata[Key.preTokenizer]?.string ?? "default",
            bosTokenID: metadata[Key.bosTokenID]?.int,
            eosTokenID: metadata[Key.eosTokenID]?.int,
            paddingTokenID: metadata[Key.paddingTokenID]?.int,
            unknownTokenID: metadata[Key.unknownTokenID]?.int,
            addBOSToken: metadata[Key.addBOSToken]?.bool ?? false,
            addEOSToken: metadata[Key.addEOSToken]?.bool ?? false,
            chatTemplate: metadata[Key.chatTemplate]?.string)
    }
}
