import CQuantKernels
import Testing

/// xorshift64*: fixed sequences without Foundation.
struct TestGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}

enum WeightType: CaseIterable, CustomStringConvertible {
    case q4_1, q8_0
    var c: cqk_weight_type { self == .q4_1 ? CQK_Q4_1 : CQK_Q8_0 }
    var blockBytes: Int { self == .q4_1 ? 20 : 34 }
    var description: String { self == .q4_1 ? "Q4_1" : "Q8_0" }
}

/// Random rows of blocks: scales of both signs and magnitudes 10⁻³–10⁻¹ (binary16), random nibbles
/// or int8s (including −128, which ggml's quantizer never writes but the format allows).
func randomWeights(_ type: WeightType, rows: Int, k: Int, using g: inout TestGenerator) -> [UInt8] {
    var bytes = (0..<(rows * k / 32 * type.blockBytes)).map { _ in UInt8.random(in: 0...255, using: &g) }
    for block in 0..<(rows * k / 32) {
        let offset = block * type.blockBytes
        for field in 0..<(type == .q4_1 ? 2 : 1) {
            let value = Float16(Float.random(in: 0.001...0.1, using: &g) * (Bool.random(using: &g) ? 1 : -1))
            bytes[offset + 2 * field] = UInt8(value.bitPattern & 0xFF)
            bytes[offset + 2 * field + 1] = UInt8(value.bitPattern >> 8)
        }
    }
    return bytes
}

/// Row `r` of `W` in Double, decoded here from the format's definition (not by the C code).
func naiveRow(_ type: WeightType, _ bytes: [UInt8], row r: Int, k: Int) -> [Double] {
    var out = [Double](repeating: 0, count: k)
    for b in 0..<(k / 32) {
        let o = (r * k / 32 + b) * type.blockBytes
        let d = Double(Float16(bitPattern: UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8))
        if type == .q4_1 {
            let m = Double(Float16(bitPattern: UInt16(bytes[o + 2]) | UInt16(bytes[o + 3]) << 8))
            for j in 0..<16 {
                out[b * 32 + j] = d * Double(bytes[o + 4 + j] & 0x0F) + m
                out[b * 32 + j + 16] = d * Double(bytes[o + 4 + j] >> 4) + m
            }
        } else {
            for j in 0..<32 { out[b * 32 + j] = d * Double(Int8(bitPattern: bytes[o + 2 + j])) }
        }
    }
    return out
}

var supportedPaths: [cqk_path] {
    [CQK_PATH_PORTABLE, CQK_PATH_AVX2, CQK_PATH_AVX512_VNNI].filter { cqk_path_supported($0) != 0 }
}

/// `(k, n)`: one block to SmolLM2's FFN width; one activation row (the decode kernels) and row
/// counts around the tile of four.
let shapes: [(Int, Int)] = [(32, 1), (576, 1), (1536, 1), (64, 2), (96, 3), (160, 4), (576, 5), (1536, 7), (64, 9)]

@Suite("Quantized products against naive Double loops")
struct QuantizedProductTests {
    /// Rows `d0..<d1` of an odd-sized `W` (37 rows, range 3..<30) so the range is honoured and
    /// nothing outside it is written (NaN sentinels stay).
    static let (d, d0, d1) = (37, 3, 30)

    @Test("float path within 1e-5 of Σ|w·x|", arguments: WeightType.allCases)
    func floatPath(type: WeightType) throws {
        for path in supportedPaths {
            for (k, n) in shapes {
                var g = TestGenerator(seed: UInt64(k * 100 + n))
                let w = randomWeights(type, rows: Self.d, k: k, using: &g)
                let x = (0..<(n * k)).map { _ in Float.random(in: -2...2, using: &g) }
                var y = [Float](repeating: .nan, count: n * Self.d)
                w.withUnsafeBytes { wp in
                    cqk_matmul_f32(path, type.c, wp.baseAddress, k, Self.d0, Self.d1, x, k, n, &y, Self.d)
                }
                var worst = 0.0
                for r in 0..<Self.d {
                    let row = naiveRow(type, w, row: r, k: k)
                    for i in 0..<n {
                        let got = y[i * Self.d + r]
                        guard (Self.d0..<Self.d1).contains(r) else {
                            #expect(got.isNaN, "\(cqk_path_name_string(path)) wrote outside the row range")
                            continue
                        }
                        let exact = (0..<k).reduce(0.0) { $0 + row[$1] * Double(x[i * k + $1]) }
                        let scale = (0..<k).reduce(0.0) { $0 + abs(row[$1] * Double(x[i * k + $1])) }
                        worst = max(worst, abs(Double(got) - exact) / scale)
                    }
                }
                #expect(worst <= 1e-5, "\(type) \(cqk_path_name_string(path)) k=\(k) n=\(n): \(worst)")
            }
        }
    }

    /// The int8 path's only approximation is the activation's rounding, `|x − d·q| ≤ d/2` with
    /// `d = max|x|/127` per block, so `|y − x·w| ≤ Σ_blocks (max|x|/254)·Σ|w|`; the test allows
    /// that bound plus 10⁻⁵·Σ|w·x| for float rounding, and checks the bound is not vacuous (the
    /// typical error is well inside it but not zero).
    @Test("int8 path within the activation-rounding bound", arguments: WeightType.allCases)
    func int8Path(type: WeightType) throws {
        for path in supportedPaths {
            var largestRatio = 0.0
            for (k, n) in shapes {
                var g = TestGenerator(seed: UInt64(k * 100 + n) ^ 0xABCD)
                let w = randomWeights(type, rows: Self.d, k: k, using: &g)
                let x = (0..<(n * k)).map { _ in Float.random(in: -2...2, using: &g) }
                var xq = [cqk_block_q8a](repeating: cqk_block_q8a(), count: n * k / 32)
                cqk_quantize_rows_q8a(x, k, n, k, &xq)
                var y = [Float](repeating: .nan, count: n * Self.d)
                w.withUnsafeBytes { wp in
                    cqk_matmul_q8a(path, type.c, wp.baseAddress, k, Self.d0, Self.d1, xq, n, &y, Self.d)
                }
                for r in 0..<Self.d {
                    let row = naiveRow(type, w, row: r, k: k)
                    for i in 0..<n {
                        let got = y[i * Self.d + r]
                        guard (Self.d0..<Self.d1).contains(r) else {
                            #expect(got.isNaN)
                            continue
                        }
                        let xi = Array(x[(i * k)..<((i + 1) * k)])
                        let exact = (0..<k).reduce(0.0) { $0 + row[$1] * Double(xi[$1]) }
                        let scale = (0..<k).reduce(0.0) { $0 + abs(row[$1] * Double(xi[$1])) }
                        let bound = stride(from: 0, to: k, by: 32).reduce(0.0) { sum, b in
                            let amax = xi[b..<(b + 32)].map { Double(abs($0)) }.max()!
                            return sum + amax / 254 * row[b..<(b + 32)].map(abs).reduce(0, +)
                        }
                        let error = abs(Double(got) - exact)
                        #expect(error <= bound + 1e-5 * scale, "\(type) \(cqk_path_name_string(path)) k=\(k) n=\(n) r=\(r)")
                        largestRatio = max(largestRatio, error / bound)
                    }
                }
            }
            #expect(largestRatio > 0.01 && largestRatio <= 1, "\(type) \(cqk_path_name_string(path)): \(largestRatio)")
        }
    }

    @Test("activation blocks: |x − d·q| ≤ d/2, s = d·Σq, zero blocks")
    func activationQuantization() {
        var g = TestGenerator(seed: 5)
        let k = 96
        var x = (0..<k).map { _ in Float.random(in: -3...3, using: &g) }
        for j in 32..<64 { x[j] = 0 }
        var q = [cqk_block_q8a](repeating: cqk_block_q8a(), count: 3)
        cqk_quantize_rows_q8a(x, k, 1, k, &q)
        for b in 0..<3 {
            let values = withUnsafeBytes(of: q[b].qs) { Array($0.bindMemory(to: Int8.self)) }
            let amax = x[(b * 32)..<(b * 32 + 32)].map(abs).max()!
            #expect(q[b].d == amax / 127)
            #expect(q[b].s == q[b].d * Float(values.reduce(0) { $0 + Int($1) }))
            for j in 0..<32 {
                #expect(abs(x[b * 32 + j] - q[b].d * Float(values[j])) <= q[b].d / 2 * (1 + 1e-6))
            }
        }
        #expect(q[1].d == 0 && q[1].s == 0)
    }

    @Test("binary16 conversions agree with Float16")
    func halfConversions() {
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let got = cqk_fp16_to_f32(bits)
            #expect(got == expected || (got.isNaN && expected.isNaN))
        }
        var g = TestGenerator(seed: 11)
        let specials: [Float] = [0, -0, 65504, 65519.99, 65520, 6.1e-5, 6.0e-8, 2.98e-8, 1e-10, .infinity, -.infinity]
        for f in specials + (0..<20000).map({ _ in Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &g)) }) {
            let expected = Float16(f)
            let got = cqk_f32_to_fp16(f)
            #expect(got == expected.bitPattern || (expected.isNaN && Float16(bitPattern: got).isNaN), "\(f)")
        }
    }

    @Test("dequantize_row matches the format's definition", arguments: WeightType.allCases)
    func dequantize(type: WeightType) {
        var g = TestGenerator(seed: 3)
        let k = 160
        let w = randomWeights(type, rows: 2, k: k, using: &g)
        var out = [Float](repeating: 0, count: k)
        w.withUnsafeBytes { cqk_dequantize_row(type.c, $0.baseAddress! + cqk_row_bytes(type.c, k), k, &out) }
        let expected = naiveRow(type, w, row: 1, k: k)
        for j in 0..<k { #expect(abs(Double(out[j]) - expected[j]) <= 1e-6 * max(abs(expected[j]), 1e-3)) }
    }

    @Test("the best path is the fastest supported one")
    func bestPath() {
        let best = cqk_best_path()
        #expect(cqk_path_supported(best) != 0)
        #expect(supportedPaths.last == best)
    }
}

func cqk_path_name_string(_ path: cqk_path) -> String { String(cString: cqk_path_name(path)) }
