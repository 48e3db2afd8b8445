import CommandTestSupport
import Foundation
import LinearAlgebra
import PEFT
import Testing
@testable import TensorFormats

@Suite(".npy")
struct NPYTests {
    @Test("reads numpy's files: C and Fortran order, versions 1, 2 and 3, <f4 and <f8, 1-D")
    func readsNumpyFixtures() throws {
        try checkFixtures(Float.self)
        try checkFixtures(Double.self)
    }

    private func checkFixtures<T: MatrixScalar & TensorScalar>(_: T.Type) throws {
        for name in ["c_f4.npy", "fortran_f8.npy", "v2_f8.npy", "v3_f4.npy"] {
            #expect(try NPY.readMatrix(fixture(name), as: T.self) == fixtureGrid(T.self), "\(name)")
        }
        #expect(try NPY.readMatrix(fixture("vector_f8.npy"), as: T.self) == Matrix(rows: 5, columns: 1) { i, _ in T(i) / 2 })
    }

    @Test("writes what numpy writes for C order, byte for byte")
    func matchesNumpyBytes() throws {
        #expect(NPY.encode(fixtureGrid(Float.self)) == (try Data(contentsOf: fixture("c_f4.npy"))))
        #expect(NPY.encode(fixtureGrid(Double.self), order: .fortran) == (try Data(contentsOf: fixture("fortran_f8.npy"))))
        #expect(NPY.encode(Matrix<Double>(rows: 5, columns: 1) { i, _ in Double(i) / 2 }, oneDimensional: true)
                == (try Data(contentsOf: fixture("vector_f8.npy"))))
    }

    @Test("round trips in both orders, 2-D and 1-D, through a file")
    func roundTrips() throws {
        try checkRoundTrips(Float.self)
        try checkRoundTrips(Double.self)
    }

    private func checkRoundTrips<T: MatrixScalar & TensorScalar>(_: T.Type) throws {
        var generator = SeededGenerator(seed: 21)
        let matrix = Matrix<T>.randomNormal(rows: 6, columns: 4, using: &generator)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for order in [NPYOrder.c, .fortran] {
            let url = directory.appendingPathComponent("m.npy")
            try NPY.write(matrix, to: url, order: order)
            #expect(try NPY.readMatrix(url, as: T.self) == matrix)
            let data = try Data(contentsOf: url)
            #expect(data.count == 128 + matrix.count * MemoryLayout<T>.size, "the data starts at a multiple of 64")
        }
        let row = matrix[rows: 0..<1]
        #expect(Matrix(try NPY.decode(NPY.encode(row, oneDimensional: true), path: "v", as: T.self)) == row.transposed)
    }

    private let file = "bad.npy"

    private func decode(_ data: Data) -> TensorFileError? {
        thrownError(TensorFileError.self) { try NPY.decode(data, path: file, as: Double.self) }
    }

    /// A version-1 `.npy` image with `dictionary` as header and `dataSize` zero bytes.
    private func image(_ dictionary: String, dataSize: Int, version: UInt8 = 1) -> Data {
        var header = Array(dictionary.utf8) + [0x0A]
        var data = Data([0x93] + Array("NUMPY".utf8) + [version, 0])
        if version == 1 {
            withUnsafeBytes(of: UInt16(header.count).littleEndian) { data.append(contentsOf: $0) }
        } else {
            withUnsafeBytes(of: UInt32(header.count).littleEndian) { data.append(contentsOf: $0) }
        }
        data.append(contentsOf: header)
        header.removeAll()
        data.append(Data(count: dataSize))
        return data
    }

    @Test func badMagicVersionAndTruncation() {
        #expect(decode(Data("PK\u{03}\u{04}zipfile".utf8)) == .notNPY(file: file))
        #expect(decode(Data()) == .notNPY(file: file))
        #expect(decode(Data([0x93] + Array("NUM".utf8))) == .truncated(file: file, needed: 10, available: 4))
        #expect(decode(image("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", dataSize: 8, version: 4))
                == .unsupportedNPYVersion(file: file, major: 4, minor: 0))
        var lengthPastEnd = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        withUnsafeBytes(of: UInt16(500).littleEndian) { lengthPastEnd.append(contentsOf: $0) }
        #expect(decode(lengthPastEnd) == .truncated(file: file, needed: 510, available: 10))
        #expect(decode(image("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", dataSize: 24))
                == .sizeMismatch(file: file, tensor: "array", expectedBytes: 32, actualBytes: 24))
    }

    @Test func malformedHeaderDictionaries() {
        for dictionary in [
            "{'descr': '<f8', 'fortran_order': False}",                       // no shape
            "{'descr': '<f8', 'fortran_order': 0, 'shape': (1,), }",          // not a bool
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}", // unknown value
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': 'y'}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1.5,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'shape': (1,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}",
            "{'descr: '<f8'}",
            "not a dict",
        ] {
            #expect(malformedHeaderReason(decode(image(dictionary, dataSize: 8)), file: file) != nil, "\(dictionary)")
        }
    }

    @Test func unsupportedDTypeShapesAndOverflow() {
        #expect(decode(image("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", dataSize: 8))
                == .unknownDType(file: file, tensor: "array", dtype: ">f8"))
        #expect(decode(image("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", dataSize: 8))
                == .unknownDType(file: file, tensor: "array", dtype: "<i8"))
        #expect(decode(image("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1), }", dataSize: 8))
                == .notAMatrix(file: file, tensor: "array", shape: [1, 1, 1]))
        guard case .invalidShape? = decode(image("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", dataSize: 8)),
              case .invalidShape? = decode(image("{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 2), }", dataSize: 8))
        else { Issue.record("expected invalidShape"); return }
    }

    @Test("every truncation of a valid file throws, none crashes")
    func everyTruncation() throws {
        let data = try Data(contentsOf: fixture("fortran_f8.npy"))
        for length in 0..<data.count { #expect(decode(data.prefix(length)) != nil, "length \(length)") }
    }
}

@Suite(".npy header info")
struct NPYInfoTests {
    @Test("info reports version, dtype, order, shape and data offset")
    func info() throws {
        #expect(try NPY.info(fixture("fortran_f8.npy")) == NPYInfo(version: 1, dtype: .float64, order: .fortran, shape: [3, 4], dataOffset: 128))
        #expect(try NPY.info(fixture("v2_f8.npy")).version == 2)
        #expect(try NPY.info(fixture("v3_f4.npy")) == NPYInfo(version: 3, dtype: .float32, order: .c, shape: [3, 4], dataOffset: 128))
        #expect(try NPY.info(fixture("vector_f8.npy")).shape == [5])
    }
}
