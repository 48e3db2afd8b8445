// libFuzzer entry for the TensorFormats parsers; built and run by scripts/fuzz/run (a short run in CI).
// Every input goes to the safetensors, .npy and GGUF parsers; whatever parses is then read
// element by element (GGUF: every metadata value and every dequantizable tensor). A crash, a sanitizer report or an untyped error is a bug.
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
    do {
        let file = try GGUFFile(data: data, path: "fuzz.gguf")
        for key in file.metadataKeys { _ = try file.value(key).typeDescription }
        for tensor in file.tensors where tensor.type.isDequantizable && tensor.elementCount <= 1 << 20 {
            _ = try file.dequantized(tensor.name)
        }
    } catch {
        _ = error.description
    }
    return 0
}
