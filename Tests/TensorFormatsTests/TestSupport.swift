import CommandTestSupport
import Foundation
import LinearAlgebra
import PEFT
@testable import TensorFormats

/// The committed fixture `name` (written by scripts/fixtures/make_peft_fixtures.py).
func fixture(_ name: String) -> URL {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
}

/// A fresh empty directory under the temporary directory, removed by the caller with `removeItem`.
func temporaryDirectory() throws -> URL { try makeTemporaryDirectory(prefix: "TensorFormatsTests") }

/// The 3×4 fixture matrix `v[i, j] = (i + 1) + (j + 1)/8`, exact in every float dtype.
func fixtureGrid<T: MatrixScalar>(_: T.Type) -> Matrix<T> {
    Matrix(rows: 3, columns: 4) { i, j in T(i + 1) + T(j + 1) / 8 }
}

/// A safetensors image with the given JSON header (padded to 8 bytes) and `dataSize` zero bytes.
func safetensorsImage(header: String, dataSize: Int) -> Data {
    var json = Data(header.utf8)
    json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
    var data = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
    data.append(json)
    data.append(Data(count: dataSize))
    return data
}


/// The reason of a `.malformedHeader` error for `file`, or `nil` for any other error.
func malformedHeaderReason(_ error: TensorFileError?, file: String) -> String? {
    if case let .malformedHeader(errorFile, reason)? = error, errorFile == file { return reason }
    return nil
}
