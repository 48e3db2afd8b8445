import Foundation
import LinearAlgebra
import NN
import Quantization
import TensorFormats

/// A LLaMA's weights in a GGUF file as llama.cpp's converter writes them, served by Hugging
/// Face name (``LlamaTensorLayout``), dequantized to Float tensor by tensor. `W_q` and `W_k` are
/// un-permuted back to Hugging Face's row order, so Hugging Face-order adapters apply to them directly.
struct GGUFWeightSource<Scalar: MatrixScalar>: LlamaWeightSource {
    let file: GGUFFile
    let configuration: LlamaConfiguration
    /// Keep Q4_1/Q8_0 projections' blocks for few-row products (``QuantizedLinear``; Float only).
    let keepsQuantizedBlocks: Bool
    /// The form each projection is built in as it is read.
    let projections: ProjectionStorage

    var path: String { file.path }

    func contains(_ name: String) -> Bool { file.contains(LlamaTensorLayout.ggufName(name)) }

    func matrix(_ name: String, rows: Int, columns: Int) throws(ModelError) -> Matrix<Scalar> {
        converting(try floatMatrix(name, rows: rows, columns: columns))
    }

    /// `name` dequantized (GGUFFile's dequantization, checked bit for bit against gguf-py's), un-permuted.
    private func floatMatrix(_ name: String, rows: Int, columns: Int) throws(ModelError) -> Matrix<Float> {
        let info = try checkedInfo(name, rows: rows, columns: columns)
        let elements: [Float]
        do { elements = try file.dequantized(info.name) } catch { throw .gguf(error) }
        let dense = Matrix(rows: rows, columns: columns, elements: elements)
        return rowOrder(name, rows: rows).map { dense.gatheringRows($0) } ?? dense
    }

    func linear(_ name: String, out: Int, in: Int) throws(ModelError) -> any LinearLayer<Scalar> {
        let info = try checkedInfo(name, rows: out, columns: `in`)
        switch projections {
        case .float:
            guard keepsQuantizedBlocks, Scalar.self == Float.self, let type = info.type.quantizedBlockType else {
                return Linear(weight: try matrix(name, rows: out, columns: `in`))
            }
            let raw: Data
            do { raw = try file.rawBytes(info.name) } catch { throw .gguf(error) }
            let blocks = reordered(QuantizedMatrix(type: type, rows: out, columns: `in`, blocks: raw), name)
            let dense = try floatMatrix(name, rows: out, columns: `in`)
            return QuantizedLinear(blocks: blocks, dense: dense) as! any LinearLayer<Scalar>
        case let .nf4(doubleQuantization):
            let dense = try floatMatrix(name, rows: out, columns: `in`)
            do { return NF4Linear<Scalar>(weight: try NF4Matrix(quantizing: dense, doubleQuantization: doubleQuantization)) } catch {
                throw .quantization(file: file.path, tensor: info.name, reason: error.description)
            }
        case let .fileBlocks(type):
            guard info.type.quantizedBlockType == type else {
                throw .projectionType(file: file.path, tensor: info.name, type: info.type.description, kept: type.description)
            }
            let raw: Data
            // A copy, so the file's mapping goes with the loader and only these bytes stay resident.
            do { raw = try file.rawBytes(info.name).withUnsafeBytes { Data($0) } } catch { throw .gguf(error) }
            return FrozenQuantizedLinear<QuantizedMatrix, Scalar>(weight: reordered(QuantizedMatrix(type: type, rows: out, columns: `in`, blocks: raw), name))
        }
    }

    /// `blocks` in Hugging Face's row order (see ``rowOrder(_:rows:)``).
    private func reordered(_ blocks: QuantizedMatrix, _ name: String) -> QuantizedMatrix {
        rowOrder(name, rows: blocks.rows).map { blocks.reorderingRows($0) } ?? blocks
    }

    /// The tensor info of `name`, checked to be `rows×columns` (`[columns]` for a 1-row vector).
    private func checkedInfo(_ name: String, rows: Int, columns: Int) throws(ModelError) -> GGUFTensorInfo {
        let ggufName = LlamaTensorLayout.ggufName(name)
        guard file.contains(ggufName) else { throw .missingTensor(file: file.path, tensor: ggufName) }
        let info: GGUFTensorInfo
        do { info = try file.info(ggufName) } catch { throw .gguf(error) }
        let expected = rows == 1 && info.shape.count == 1 ? [columns] : [rows, columns]
        guard info.shape == expected else { throw .wrongShape(file: file.path, tensor: ggufName, expected: expected, actual: info.shape) }
        return info
    }

    /// For `W_q`/`W_k`, the GGUF row each Hugging Face row comes from; `nil` for other tensors.
    private func rowOrder(_ name: String, rows: Int) -> [Int]? {
        LlamaTensorLayout.ggufRows(ofHuggingFace: name, rows: rows, configuration: configuration)
    }
}

extension GGMLType {
    /// The block type ``QuantizedMatrix`` multiplies, if this is one.
    var quantizedBlockType: QuantizedMatrix.BlockType? {
        switch self {
        case .q4_1: .q4_1
        case .q8_0: .q8_0
        default: nil
        }
    }
}
