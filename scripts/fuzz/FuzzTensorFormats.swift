// libFuzzer entry for the TensorFormats parsers; built and run by scripts/fuzz/run (a short run in CI).
// Every input goes to the safetensors parser and the .npy parser; whatever parses is then read
// element by element. A crash, a sanitizer report or an untyped error is a bug.
import Foundation
import TensorFormats

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTensorFormats(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    do {
        let file = try SafetensorsFile(data: data, path: "fuzz.safetensors")
        for tensor in file.tensors {
            _ = try file.rawBytes(tensor.name)
            if tensor.dtype.isConvertible && tensor.shape.count <= 2 {
                _ = try file.elements(tensor.name, as: Float.self)
                _ = try file.elements(tensor.name, as: Double.self)
            }
        }
    } catch {
        _ = error.description
    }
    do {
        _ = try NPY.decode(data, path: "fuzz.npy", as: Float.self)
    } catch {
        _ = error.description
    }
    return 0
}
