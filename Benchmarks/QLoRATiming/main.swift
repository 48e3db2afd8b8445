// The figures of docs/PERFORMANCE.md's "QLoRA" section: bits per parameter of each base precision
// (exact, from the formats), and forward + ∂X of an NF4 base layer against the dense frozen Float
// layer, interleaved rounds: medians of the times and of the per-round ratios; and a frozen base on
// SmolLM2's Q4_1/Q8_0 blocks (when the model is cached), the product on the blocks against panels by
// rows of X, to place `QuantizedMatrix.directProductRowLimit` (thread CPU time: run it with
// OPENBLAS_NUM_THREADS=1 for the whole product's work). Build release and run:
//   swift build -c release --product QLoRATiming && OPENBLAS_CORETYPE=Cooperlake .build/release/QLoRATiming [rounds]
import Foundation
import LinearAlgebra
import Models
import NN
import Quantization
import TensorFormats

let rounds = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1])! : 9
let tokens = 1024

print("| precision | bits a parameter |")
print("| --- | --- |")
print("| NF4 (bitsandbytes, blocks of 64) | \(NF4Matrix.bitsPerParameter(doubleQuantization: false)) |")
print("| NF4 + double quantization | \(NF4Matrix.bitsPerParameter(doubleQuantization: true)) |")
for type in [GGMLType.q4_0, .q4_1, .q8_0, .f16, .bf16, .f32] {
    print("| \(type) (ggml) | \(Double(8 * type.bytesPerBlock) / Double(type.blockSize)) |")
}

/// Milliseconds of one forward and one ∂X of `layer` on `x`.
func milliseconds(_ layer: some LinearLayer<Float>, _ x: Matrix<Float>, _ g: Matrix<Float>) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    let y = layer.forward(x)
    let dx = layer.backward(g)
    precondition(y.rows == x.rows && dx.rows == x.rows)
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

print("\nn = \(tokens), \(rounds) interleaved rounds, BLAS threads \(BLAS.threadCount), core \(BLAS.coreName)")
let panels = [64, 128, 256, 512]
print("| W (out×in) | dense ms | " + panels.map { "NF4 ms (\($0) rows)" }.joined(separator: " | ") + " | NF4-DQ ms (default) |")
print("| --- | --- | " + panels.map { _ in "---" }.joined(separator: " | ") + " | --- |")
for (out, input) in [(576, 1536), (1536, 576)] {
    var generator = SeededGenerator(seed: 7)
    let w = Matrix<Float>.randomNormal(rows: out, columns: input, standardDeviation: 0.02, using: &generator)
    let nf4 = try NF4Matrix(quantizing: w)
    let nf4dq = try NF4Matrix(quantizing: w, doubleQuantization: true)
    let dense = Linear(weight: nf4.dequantized())
    dense.weight.isTrainable = false  // a frozen base: forward and ∂X only, as the NF4 layer
    let layers: [any LinearLayer<Float>] = [dense] + panels.map { NF4Linear<Float>(weight: nf4, panelRows: $0) }
        + [NF4Linear<Float>(weight: nf4dq)]
    let x = Matrix<Float>.randomNormal(rows: tokens, columns: input, using: &generator)
    let g = Matrix<Float>.randomNormal(rows: tokens, columns: out, using: &generator)
    for layer in layers { _ = milliseconds(layer, x, g) }  // warm-up: workspaces, BLAS buffers
    var times = [[Double]](repeating: [], count: layers.count)
    for round in 0..<rounds {
        // Rotate the order each round so no layer always runs first after the others.
        for k in 0..<layers.count {
            let i = (k + round) % layers.count
            times[i].append(milliseconds(layers[i], x, g))
        }
    }
    let medians = times.map(median)
    print("| \(out)×\(input) | " + medians.map { String(format: "%.2f", $0) }.joined(separator: " | ") + " |")
    print("|  workspace bytes | | " + panels.map { "\(NF4Linear<Float>(weight: nf4, panelRows: $0).workspaceBytes)" }.joined(separator: " | ")
        + " | \(NF4Linear<Float>(weight: nf4dq).workspaceBytes) |")
    var panel = [Float](repeating: 0, count: out * input)
    let dequantization = median((0..<rounds).map { _ in
        let start = DispatchTime.now().uptimeNanoseconds
        panel.withUnsafeMutableBufferPointer { nf4.dequantize(rows: 0..<out, into: $0.baseAddress!) }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    })
    print("|  dequantizing all of W once | \(String(format: "%.2f", dequantization)) ms | | | | | |")
    // Load from other processes moves whole rounds: the ratio within a round is steadier.
    let ratios = (1..<layers.count).map { i in String(format: "%.3f", median((0..<rounds).map { times[i][$0] / times[0][$0] })) }
    print("|  median of per-round ratios to dense | 1 | " + ratios.joined(separator: " | ") + " |")
}

/// The blocks with no direct product: every `n` over dequantized panels.
struct PanelsOnly: RowDequantizable {
    let blocks: QuantizedMatrix
    var rows: Int { blocks.rows }
    var columns: Int { blocks.columns }
    var storageBytes: Int { blocks.storageBytes }
    func dequantize<T: MatrixScalar>(rows range: Range<Int>, into output: UnsafeMutablePointer<T>) {
        blocks.dequantize(rows: range, into: output)
    }
}

if let url = ModelLocation.cachedFile("smollm2"), let file = try? GGUFFile(contentsOf: url) {
    // ffn_down (Q4_1, 576×1536) and the first 1536 rows of token_embd (Q8_0, 1536×576).
    let down = QuantizedMatrix(type: .q4_1, rows: 576, columns: 1536, blocks: try file.rawBytes("blk.0.ffn_down.weight"))
    let embedding = try file.rawBytes("token_embd.weight")
    let q8 = QuantizedMatrix(type: .q8_0, rows: 1536, columns: 576, blocks: embedding.prefix(1536 * 576 / 32 * 34))
    print("\nForward Y = X·Ŵᵀ on blocks against dequantized 256-row panels, \(rounds) interleaved rounds, median thread CPU ms (BLAS threads \(BLAS.threadCount))")
    print("| W | n | on the blocks | panels | panels / blocks |")
    print("| --- | --- | --- | --- | --- |")
    for (name, blocks) in [("Q4_1 576×1536", down), ("Q8_0 1536×576", q8)] {
        let panels = FrozenQuantizedLinear<PanelsOnly, Float>(weight: PanelsOnly(blocks: blocks))
        var generator = SeededGenerator(seed: 8)
        for n in [1, 4, 8, 16, 32, 128] {
            let x = Matrix<Float>.randomNormal(rows: n, columns: blocks.columns, using: &generator)
            // This thread's CPU time: other processes' load does not enter it; with one BLAS
            // thread (OPENBLAS_NUM_THREADS=1) it is all the work of the product.
            func time(_ body: () -> Matrix<Float>) -> Double {
                var start = timespec(), end = timespec()
                clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start)
                precondition(body().rows == n)
                clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end)
                return Double(end.tv_sec - start.tv_sec) * 1e3 + Double(end.tv_nsec - start.tv_nsec) / 1e6
            }
            var (onBlocks, onPanels, ratios) = ([Double](), [Double](), [Double]())
            for _ in 0..<rounds {
                let a = time { blocks.multiply(x, activations: .float) }
                let b = time { panels.forward(x) }
                onBlocks.append(a)
                onPanels.append(b)
                ratios.append(b / a)
            }
            print(String(format: "| %@ | %ld | %.3f | %.3f | %.2f |", name, n, median(onBlocks), median(onPanels), median(ratios)))
        }
    }
}
