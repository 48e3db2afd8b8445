import CommandTestSupport
import Foundation
import LinearAlgebra
import PEFT
import Testing
@testable import TensorFormats

/// Every malformed safetensors input gives a typed error naming the file and tensor.
@Suite("safetensors malformed input")
struct SafetensorsMalformedTests {
    private let file = "bad.safetensors"

    private func open(_ data: Data) -> TensorFileError? {
        thrownError(TensorFileError.self) { try SafetensorsFile(data: data, path: file) }
    }

    private func open(header: String, dataSize: Int) -> TensorFileError? {
        open(safetensorsImage(header: header, dataSize: dataSize))
    }

    @Test func fileShorterThanTheLengthField() {
        #expect(open(Data([1, 2, 3])) == .truncated(file: file, needed: 8, available: 3))
        #expect(open(Data()) == .truncated(file: file, needed: 8, available: 0))
    }

    @Test func headerLengthPastTheEnd() {
        var data = Data()
        withUnsafeBytes(of: UInt64(1000).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data("{}".utf8))
        #expect(open(data) == .truncated(file: file, needed: 1008, available: 10))
    }

    @Test func headerLengthOverTheCap() {
        var data = Data()
        withUnsafeBytes(of: UInt64.max.littleEndian) { data.append(contentsOf: $0) }
        #expect(open(data) == .headerTooLarge(file: file, length: .max, limit: SafetensorsFile.maximumHeaderLength))
    }

    @Test func malformedJSON() {
        #expect(malformedHeaderReason(open(header: "{\"a\": {\"dtype\": ", dataSize: 0), file: file) != nil)
        #expect(malformedHeaderReason(open(header: "[1, 2]", dataSize: 0), file: file) != nil)
        let invalidUTF8 = safetensorsImage(header: "{\"\u{00}\": 1}", dataSize: 0)
        #expect(malformedHeaderReason(open(invalidUTF8), file: file) != nil)
    }

    @Test func missingOrMistypedKeysAreNamed() {
        let missing = malformedHeaderReason(open(header: #"{"w": {"dtype": "F32", "shape": [1]}}"#, dataSize: 4), file: file)
        #expect(missing?.contains("data_offsets") == true && missing?.contains("w") == true)
        let fractional = malformedHeaderReason(open(header: #"{"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}"#, dataSize: 4), file: file)
        #expect(fractional != nil)
        let metadata = malformedHeaderReason(open(header: #"{"__metadata__": {"format": 1}}"#, dataSize: 0), file: file)
        #expect(metadata?.contains("__metadata__") == true)
    }

    @Test func unknownDType() {
        #expect(open(header: #"{"w": {"dtype": "F7", "shape": [1], "data_offsets": [0, 4]}}"#, dataSize: 4)
                == .unknownDType(file: file, tensor: "w", dtype: "F7"))
    }

    @Test func negativeDimension() {
        guard case let .invalidShape(errorFile, tensor, shape, _)? =
                open(header: #"{"w": {"dtype": "F32", "shape": [-1, 4], "data_offsets": [0, 4]}}"#, dataSize: 4)
        else { Issue.record("expected invalidShape"); return }
        #expect(errorFile == file && tensor == "w" && shape == [-1, 4])
    }

    @Test func shapeProductOverflow() {
        let error = open(header: #"{"w": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}}"#, dataSize: 8)
        guard case let .invalidShape(_, tensor, shape, reason)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(tensor == "w" && shape == [4294967296, 4294967296] && reason.contains("overflow"))
        // The element count fits but the byte size does not.
        guard case .invalidShape? = open(header: #"{"w": {"dtype": "F64", "shape": [2305843009213693952], "data_offsets": [0, 8]}}"#, dataSize: 8)
        else { Issue.record("expected invalidShape for the byte size"); return }
    }

    @Test func offsetsOutOfRange() {
        #expect(open(header: #"{"w": {"dtype": "F32", "shape": [25], "data_offsets": [0, 100]}}"#, dataSize: 16)
                == .offsetsOutOfRange(file: file, tensor: "w", offsets: [0, 100], dataSize: 16))
        #expect(open(header: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}"#, dataSize: 16)
                == .offsetsOutOfRange(file: file, tensor: "w", offsets: [8, 4], dataSize: 16))
        #expect(open(header: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}"#, dataSize: 16)
                == .offsetsOutOfRange(file: file, tensor: "w", offsets: [-4, 0], dataSize: 16))
        #expect(open(header: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}}"#, dataSize: 16)
                == .offsetsOutOfRange(file: file, tensor: "w", offsets: [0, 4, 8], dataSize: 16))
    }

    @Test func sizeNotShapeTimesDTypeSize() {
        #expect(open(header: #"{"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}}"#, dataSize: 12)
                == .sizeMismatch(file: file, tensor: "w", expectedBytes: 16, actualBytes: 12))
    }

    @Test func overlappingTensors() {
        let header = #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#
        #expect(open(header: header, dataSize: 12) == .overlappingTensors(file: file, tensor: "b", other: "a"))
    }

    @Test func holesAndTrailingBytes() {
        let hole = #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}"#
        #expect(open(header: hole, dataSize: 12) == .unownedBytes(file: file, range: 4..<8))
        let trailing = #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#
        #expect(open(header: trailing, dataSize: 8) == .unownedBytes(file: file, range: 4..<8))
    }

    @Test func moreThanTwoDimensionsIsNotAMatrix() throws {
        let data = safetensorsImage(header: #"{"t": {"dtype": "F32", "shape": [1, 1, 2], "data_offsets": [0, 8]}}"#, dataSize: 8)
        let opened = try SafetensorsFile(data: data, path: file)
        #expect(throws: TensorFileError.notAMatrix(file: file, tensor: "t", shape: [1, 1, 2])) { try opened.matrix("t", as: Float.self) }
        #expect(try opened.elements("t", as: Float.self) == [0, 0])
    }

    @Test("every truncation of a valid file throws, none crashes")
    func everyTruncation() throws {
        let data = try Data(contentsOf: fixture("dtypes.safetensors"))
        for length in 0..<data.count {
            #expect(open(data.prefix(length)) != nil, "length \(length)")
        }
    }

    @Test("errors read as one line naming the file and the tensor")
    func descriptions() {
        let error = TensorFileError.sizeMismatch(file: "m.safetensors", tensor: "w", expectedBytes: 16, actualBytes: 12)
        #expect(error.description == "m.safetensors: tensor \"w\": shape and dtype need 16 bytes, data_offsets give 12")
        #expect(!TensorFileError.overlappingTensors(file: "f", tensor: "b", other: "a").description.contains("\n"))
    }
}
