/// `torch.einsum`: Einstein summation over any subscripts, lowered to differentiable views,
/// reductions and (batched) matrix products, so every product runs on the GEMM and every gradient
/// comes from those pieces' backward functions:
///
/// 1. a label repeated within one operand (`ii`, `iji`) takes the diagonal: a strided view whose
///    backward writes v onto the diagonal of zeros;
/// 2. a label that appears in one operand only and not in the output is summed out at once;
/// 3. operands are contracted left to right: labels both share and still need (output or a later
///    operand) are batch dimensions, labels both share and no longer need are contracted, the rest
///    stay as rows and columns: `[batch, rows, k] · [batch, k, columns]` is one batched matmul
///    (transposed operands are read in place, no copy);
/// 4. the result is permuted to the output's order.
extension Tensor {
    /// Einstein summation, as `torch.einsum(equation, operands…)`.
    ///
    /// Subscripts are letters (`a`–`z`, `A`–`Z`), one per dimension, with `...` standing for any
    /// number of leading broadcast dimensions. A letter in several operands multiplies them along
    /// that dimension; one missing from the output is summed over; one repeated within an operand
    /// takes its diagonal. Without `->` the output is `...` followed by the letters that appear
    /// exactly once, in alphabetical order (upper case first). Dimensions of size 1 broadcast.
    ///
    /// ```swift
    /// Tensor.einsum("ij,jk->ik", a, b)          // a.matmul(b)
    /// Tensor.einsum("bhqd,bhkd->bhqk", q, k)    // attention scores, one batched GEMM
    /// Tensor.einsum("ii", m)                    // trace, shape []
    /// ```
    public static func einsum(_ equation: String, _ operands: Tensor...) -> Tensor {
        einsum(equation, operands)
    }

    /// Einstein summation with the operands in an array (see the variadic form).
    public static func einsum(_ equation: String, _ operands: [Tensor]) -> Tensor {
        let spec = EinsumSpec(equation, shapes: operands.map(\.shape))
        for t in operands {
            precondition(t.dtype == operands[0].dtype, "Neural: einsum \"\(equation)\": operand dtypes differ (\(operands.map(\.dtype)))")
        }
        // 1–2: diagonals and labels only one operand has and the output lacks.
        var terms: [(tensor: Tensor, labels: [Int])] = operands.indices.map { i in
            var (x, l) = operands[i].einsumDiagonal(spec.inputs[i])
            let others = spec.inputs.indices.filter { $0 != i }.flatMap { spec.inputs[$0] }
            let elsewhere = Set(spec.output).union(others)
            let sumAxes = l.indices.filter { !elsewhere.contains(l[$0]) }
            if !sumAxes.isEmpty {
                x = x.sum(axes: sumAxes)
                l = l.indices.filter { !sumAxes.contains($0) }.map { l[$0] }
            }
            return (x, l)
        }
        // 3: contractions, left to right.
        var (a, la) = terms.removeFirst()
        while !terms.isEmpty {
            let (b, lb) = terms.removeFirst()
            let needed = Set(spec.output).union(terms.flatMap(\.labels))
            (a, la) = contract(a, la, b, lb, needed: needed, equation: equation)
        }
        // Labels left that the output lacks (possible with one operand) are summed; then 4.
        let extra = la.indices.filter { !spec.output.contains(la[$0]) }
        if !extra.isEmpty {
            a = a.sum(axes: extra)
            la = la.indices.filter { !extra.contains($0) }.map { la[$0] }
        }
        return a.permuted(spec.output.map { la.firstIndex(of: $0)! })
    }

    /// The view with one dimension per distinct label of `labels` (first-occurrence order): a label
    /// repeated within the operand walks the diagonal. B: v written onto the diagonal of zeros.
    private func einsumDiagonal(_ labels: [Int]) -> (Tensor, [Int]) {
        var unique: [Int] = []
        for l in labels where !unique.contains(l) { unique.append(l) }
        if unique.count == labels.count { return (self, labels) }
        func diagonal(_ t: Tensor) -> Tensor {
            var shape: [Int] = [], strides: [Int] = []
            for l in unique {
                let dims = labels.indices.filter { labels[$0] == l }
                precondition(dims.allSatisfy { t.shape[$0] == t.shape[dims[0]] },
                             "Neural: einsum: the repeated subscript's dimensions \(dims.map { t.shape[$0] }) of shape \(t.shape) differ")
                shape.append(t.shape[dims[0]])
                strides.append(dims.reduce(0) { $0 + t.strides[$1] })
            }
            return t.withLayout(shape: shape, strides: strides, offset: t.offset)
        }
        let original = shape, dtype = self.dtype
        let out = Tensor.record(diagonal(self), op: "einsumDiagonal", input: self) { v in
            let g = Tensor.zeros(original, dtype: dtype)
            StridedCopy.copy(v, diagonal(g))
            return g
        }
        return (out, unique)
    }

    /// Contracts two labelled operands into one labelled tensor with a batched matmul.
    private static func contract(_ a0: Tensor, _ la0: [Int], _ b0: Tensor, _ lb0: [Int], needed: Set<Int>,
                                 equation: String) -> (Tensor, [Int]) {
        var (a, la, b, lb) = (a0, la0, b0, lb0)
        // Labels one side has alone and no one needs: summed first.
        func dropUnneeded(_ t: inout Tensor, _ l: inout [Int], other: [Int]) {
            let axes = l.indices.filter { !needed.contains(l[$0]) && !other.contains(l[$0]) }
            if axes.isEmpty { return }
            t = t.sum(axes: axes)
            l = l.indices.filter { !axes.contains($0) }.map { l[$0] }
        }
        dropUnneeded(&a, &la, other: lb)
        dropUnneeded(&b, &lb, other: la)
        // Size-1 dimensions of shared labels broadcast to the other side's size.
        var sizeA = a.shape, sizeB = b.shape
        for (i, l) in la.enumerated() {
            if let j = lb.firstIndex(of: l), a.shape[i] != b.shape[j] {
                precondition(a.shape[i] == 1 || b.shape[j] == 1,
                             "Neural: einsum \"\(equation)\": a subscript has sizes \(a.shape[i]) and \(b.shape[j]) in operands of shapes \(a.shape) and \(b.shape)")
                sizeA[i] = Swift.max(a.shape[i], b.shape[j])
                sizeB[j] = sizeA[i]
            }
        }
        a = a.broadcast(to: sizeA)
        b = b.broadcast(to: sizeB)
        let batch = la.filter { lb.contains($0) && needed.contains($0) }
        let summed = la.filter { lb.contains($0) && !needed.contains($0) }
        let rows = la.filter { !lb.contains($0) }, cols = lb.filter { !la.contains($0) }
        func size(_ labels: [Int], _ t: Tensor, _ l: [Int]) -> [Int] { labels.map { t.shape[l.firstIndex(of: $0)!] } }
        let batchShape = size(batch, a, la), rowShape = size(rows, a, la), colShape = size(cols, b, lb)
        let (nb, m, k, n) = (Shape.count(batchShape), Shape.count(rowShape), Shape.count(size(summed, a, la)), Shape.count(colShape))
        let left = matrixOperand(a, la, batch: batch, outer: rows, inner: summed, outerCount: m, innerCount: k, batchCount: nb)
        let right = matrixOperand(b, lb, batch: batch, outer: cols, inner: summed, outerCount: n, innerCount: k, batchCount: nb)
            .transposed()
        let product = left.matmul(right)   // [nb, m, n]
        return (product.reshaped(batchShape + rowShape + colShape), batch + rows + cols)
    }

    /// `t` as `[batch, outer, inner]` (batch counts `batchCount` etc.): a view when the labels'
    /// layout allows one (either `[b, outer, inner]` or the transpose of a contiguous `[b, inner, outer]`).
    private static func matrixOperand(_ t: Tensor, _ l: [Int], batch: [Int], outer: [Int], inner: [Int],
                                      outerCount: Int, innerCount: Int, batchCount: Int) -> Tensor {
        let index = { (labels: [Int]) in labels.map { l.firstIndex(of: $0)! } }
        let direct = t.permuted(index(batch + outer + inner))
        if direct.isContiguous || !t.permuted(index(batch + inner + outer)).isContiguous {
            return direct.reshaped([batchCount, outerCount, innerCount])
        }
        return t.permuted(index(batch + inner + outer)).reshaped([batchCount, innerCount, outerCount]).transposed()
    }
}

/// A parsed einsum equation: each operand's labels (letters by code point, broadcast dimensions
/// by negative numbers −1, −2, … from the right) and the output's.
struct EinsumSpec {
    let inputs: [[Int]]
    let output: [Int]

    init(_ equation: String, shapes: [[Int]]) {
        let text = equation.filter { !$0.isWhitespace }
        let sides = text.components(separatedBy: "->")
        precondition(sides.count <= 2, "Neural: einsum \"\(equation)\" has more than one \"->\"")
        let terms = sides[0].components(separatedBy: ",")
        precondition(terms.count == shapes.count,
                     "Neural: einsum \"\(equation)\" names \(terms.count) operands but \(shapes.count) were given")
        var ellipsisRank = 0
        var inputs: [[Int]] = []
        for (term, shape) in zip(terms, shapes) {
            let (letters, ellipsis) = EinsumSpec.parse(term, equation)
            if let at = ellipsis {
                let e = shape.count - letters.count
                precondition(e >= 0, "Neural: einsum \"\(equation)\": operand \"\(term)\" has more subscripts than dimensions (shape \(shape))")
                ellipsisRank = Swift.max(ellipsisRank, e)
                inputs.append(Array(letters[..<at]) + (0..<e).map { -(e - $0) } + Array(letters[at...]))
            } else {
                precondition(letters.count == shape.count,
                             "Neural: einsum \"\(equation)\": operand \"\(term)\" has \(letters.count) subscripts for shape \(shape)")
                inputs.append(letters)
            }
        }
        let broadcast = (0..<ellipsisRank).map { -(ellipsisRank - $0) }
        if sides.count == 2 {
            let (letters, ellipsis) = EinsumSpec.parse(sides[1], equation)
            precondition(ellipsis != nil || ellipsisRank == 0,
                         "Neural: einsum \"\(equation)\": the output needs \"...\" when an operand has it")
            precondition(Set(letters).count == letters.count, "Neural: einsum \"\(equation)\": the output repeats a subscript")
            let all = Set(inputs.joined())
            for l in letters {
                precondition(all.contains(l), "Neural: einsum \"\(equation)\": output subscript \(Character(UnicodeScalar(UInt8(l)))) is in no operand")
            }
            output = ellipsis.map { Array(letters[..<$0]) + broadcast + Array(letters[$0...]) } ?? letters
        } else {
            let counts = inputs.joined().filter { $0 > 0 }.reduce(into: [Int: Int]()) { $0[$1, default: 0] += 1 }
            output = broadcast + counts.filter { $0.value == 1 }.map(\.key).sorted()
        }
        self.inputs = inputs
    }

    /// The letters of one term (code points) and where its `...` stands, if it has one.
    private static func parse(_ term: String, _ equation: String) -> ([Int], Int?) {
        var letters: [Int] = [], ellipsis: Int?
        var rest = Substring(term)
        while let c = rest.first {
            if rest.hasPrefix("...") {
                precondition(ellipsis == nil, "Neural: einsum \"\(equation)\": \"\(term)\" has more than one \"...\"")
                ellipsis = letters.count
                rest = rest.dropFirst(3)
                continue
            }
            precondition(c.isASCII && c.isLetter, "Neural: einsum \"\(equation)\": subscripts are letters a–z, A–Z and \"...\", got \"\(c)\"")
            letters.append(Int(c.asciiValue!))
            rest = rest.dropFirst()
        }
        return (letters, ellipsis)
    }
}
