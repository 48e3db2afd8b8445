import LinearAlgebra
import TensorFormats

/// A LLaMA's weights in a Hugging Face `model.safetensors` (`save_pretrained`'s names and
/// layout), converted to the model's scalars tensor by tensor.
struct SafetensorsWeightSource<Scalar: MatrixScalar>: LlamaWeightSource {
    let file: SafetensorsFile

    var path: String { file.path }

    func contains(_ name: String) -> Bool { file.contains(name) }

    func matrix(_ name: String, rows: Int, columns: Int) throws(ModelError) -> Matrix<Scalar> {
        guard file.contains(name) else { throw .missingTensor(file: file.path, tensor: name) }
        do {
            let info = try file.info(name)
            let expected = rows == 1 && info.shape.count == 1 ? [columns] : [rows, columns]
            guard info.shape == expected else { throw ModelError.wrongShape(file: file.path, tensor: name, expected: expected, actual: info.shape) }
            // Double reads Double directly, so an F64 file loses nothing.
            if Scalar.self == Double.self {
                return Matrix(rows: rows, columns: columns, elements: try file.elements(name, as: Double.self).map { Scalar($0) })
            }
            return converting(Matrix(rows: rows, columns: columns, elements: try file.elements(name, as: Float.self)))
        } catch let error as TensorFileError {
            throw .tensorFile(error)
        } catch let error as ModelError {
            throw error
        } catch {
            preconditionFailure("SafetensorsWeightSource: \(error)")
        }
    }
}
