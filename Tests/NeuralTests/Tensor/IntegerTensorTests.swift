import Foundation
import Neural
import Testing

@Suite("Integer tensors: creation, conversion, printing, files")
struct IntegerTensorTests {
    @Test func integersCreateInt64ByDefaultAndInt32OnRequest() {
        let ids = Tensor(integers: [5, 1, 4, 1, 9, 2], shape: [2, 3])
        #expect(ids.dtype == .int64 && ids.shape == [2, 3])
        #expect(ids.scalars(as: Int.self) == [5, 1, 4, 1, 9, 2])
        #expect(ids.item(at: [1, 1]) == 9)
        let small = Tensor(integers: [Int32(-3), 7], dtype: .int32)
        #expect(small.dtype == .int32 && small.scalars(as: Int32.self) == [-3, 7])
        // Int64 values beyond 2^53 stay exact.
        let big = Tensor(integers: [Int64.max, Int64.min + 1])
        #expect(big.scalars(as: Int64.self) == [Int64.max, Int64.min + 1])
        // The same init makes float tensors too.
        #expect(Tensor(integers: [1, 2], dtype: .float64).scalars(as: Double.self) == [1, 2])
    }

    @Test func zerosFullOnesAndArangeForIntegers() {
        #expect(Tensor.zeros([2, 2], dtype: .int32).scalars(as: Int.self) == [0, 0, 0, 0])
        #expect(Tensor.full([3], 7, dtype: .int64).scalars(as: Int.self) == [7, 7, 7])
        #expect(Tensor.ones([2], dtype: .int64).scalars(as: Int.self) == [1, 1])
        let r = Tensor.arange(5, dtype: .int64)
        #expect(r.dtype == .int64 && r.scalars(as: Int.self) == [0, 1, 2, 3, 4])
        #expect(Tensor.arange(2, 9, step: 3, dtype: .int32).scalars(as: Int.self) == [2, 5, 8])
        #expect(Tensor([3, -1] as [Double], dtype: .int32).scalars(as: Int.self) == [3, -1])
        #expect(Tensor.zeros(like: r).dtype == .int64)
    }

    @Test func conversionsBetweenEveryPairOfDTypes() {
        let values: [Double] = [-2.75, -1, 0, 0.5, 3.9, 100]
        let truncated: [Int64] = [-2, -1, 0, 0, 3, 100]          // toward zero, as torch
        for from in DType.allCases {
            let x = Tensor(values, dtype: .float64).to(from)
            for to in DType.allCases {
                let y = x.to(to)
                #expect(y.dtype == to && y.shape == [6])
                let expected: [Double] = from.isInteger || to.isInteger ? truncated.map(Double.init)
                    : (from == .float32 || to == .float32) ? values.map { Double(Float($0)) } : values
                #expect(y.scalars(as: Double.self) == expected, "\(from) → \(to)")
            }
        }
        // Narrowing an integer keeps the low bits (torch's behaviour).
        #expect(Tensor(integers: [Int64(1) << 32 | 5]).to(.int32).scalars(as: Int32.self) == [5])
        // A strided view converts in row-major order.
        let m = Tensor(integers: [1, 2, 3, 4, 5, 6], shape: [2, 3]).transposed(0, 1)
        #expect(m.to(.float32).scalars(as: Float.self) == [1, 4, 2, 5, 3, 6])
        #expect(m.scalars(as: Int.self) == [1, 4, 2, 5, 3, 6])
    }

    @Test func integerResultsCarryNoGradientAndFloatPathsStillDo() {
        var x = Tensor([1.5, -2.5])
        x.requiresGrad = true
        let ints = x.to(.int64)
        #expect(!ints.requiresGrad)
        #expect(ints.scalars(as: Int.self) == [1, -2])
        let back = ints.to(.float32)
        #expect(!back.requiresGrad)
        // float32 ↔ float64 stays differentiable.
        x.to(.float64).sum().backward()
        #expect(x.grad!.scalars() == [1, 1])
    }

    @Test func printingShowsIntegersExactly() {
        let t = Tensor(integers: [1, -20, Int(Int64(1) << 60), 4], shape: [2, 2])
        #expect(t.description == "Tensor([2, 2], int64)\n[[1, -20],\n [1152921504606846976, 4]]")
        #expect(Tensor(integers: [7], shape: [], dtype: .int32).description == "Tensor([], int32)\n7")
    }

    @Test func viewsAndCopiesWorkOnIntegers() {
        let t = Tensor(integers: Array(0..<12), shape: [3, 4])
        #expect(t[1].scalars(as: Int.self) == [4, 5, 6, 7])
        #expect(t.transposed(0, 1).contiguous().scalars(as: Int.self) == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
        #expect(t.reshaped([2, 6]).shape == [2, 6])
        #expect(t.indexSelect(axis: 1, [3, 0]).scalars(as: Int.self) == [3, 0, 7, 4, 11, 8])
        #expect(Tensor.concatenate([t, t], axis: 0).dtype == .int64)
    }

    @Test func npyRoundTripsInt32AndInt64() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ints-npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for dtype in DType.integerCases {
            for shape in [[2, 3], [4], [], [0, 2]] {
                let n = shape.reduce(1, *)
                let x = Tensor(integers: (0..<n).map { $0 * 7 - 9 }, shape: shape, dtype: dtype)
                let url = dir.appendingPathComponent("x.npy")
                try NPY.write(x, to: url)
                let header = String(decoding: try Data(contentsOf: url).prefix(64).dropFirst(10), as: UTF8.self)
                #expect(header.contains(dtype == .int32 ? "'<i4'" : "'<i8'"))
                let y = try NPY.read(url)
                #expect(y.dtype == dtype && y.shape == shape)
                #expect(y.scalars(as: Int64.self) == x.scalars(as: Int64.self))
            }
        }
    }

    @Test func safetensorsRoundTripsI32AndI64() throws {
        let ids = Tensor(integers: [Int64.max, -1, 0], dtype: .int64)
        let small = Tensor(integers: [Int32.min, 5], shape: [1, 2], dtype: .int32)
        let data = try SafeTensors(tensors: ["ids": ids, "small": small, "w": Tensor([1.5])]).encoded()
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"ids\":{\"dtype\":\"I64\",\"shape\":[3]"))
        #expect(text.contains("\"small\":{\"dtype\":\"I32\",\"shape\":[1,2]"))
        let back = try SafeTensors.decode(data)
        expectBitIdentical(back.tensors["ids"]!, ids)
        expectBitIdentical(back.tensors["small"]!, small)
        #expect(back.tensors["w"]!.dtype == .float32)
    }

    @Test func moduleToConvertsOnlyFloatingPointState() {
        final class Counter: Module {
            let linear = Linear(2, 1)
            let steps = Buffer(Tensor(integers: [3]))
        }
        let m = Counter().to(.float64)
        #expect(m.linear.weight.value.dtype == .float64)
        #expect(m.steps.value.dtype == .int64 && m.steps.value.scalars(as: Int.self) == [3])
    }
}

@Suite("Integer arithmetic and comparisons")
struct IntegerArithmeticTests {
    @Test func addSubtractMultiplyAndCompareWithBroadcasting() {
        let ids = Tensor(integers: [0, 3, 5, 0, 7, 2], shape: [2, 3])
        #expect((ids + Tensor(integers: [1])).scalars(as: Int.self) == [1, 4, 6, 1, 8, 3])
        #expect((ids - ids).scalars(as: Int.self) == [0, 0, 0, 0, 0, 0])
        #expect((ids * Tensor(integers: [1, 10, 100])).scalars(as: Int.self) == [0, 30, 500, 0, 70, 200])
        let pad = ids .== 0
        #expect(pad.dtype == .int64 && pad.scalars(as: Int.self) == [1, 0, 0, 1, 0, 0])
        #expect((ids .> 2).scalars(as: Int.self) == [0, 1, 1, 0, 1, 0])
        #expect(Tensor.maximum(ids, Tensor(integers: [4])).scalars(as: Int.self) == [4, 4, 5, 4, 7, 4])
        // Exact beyond 2^53.
        let big = Tensor(integers: [Int64(1) << 60])
        #expect(((big + Tensor(integers: [1])) .== big).scalars(as: Int.self) == [0])
        #expect((Tensor(integers: [2, 3], dtype: .int32) * Tensor(integers: [4, 5], dtype: .int32)).scalars(as: Int32.self) == [8, 15])
    }
}
