import CNeuralKernels

/// Depthwise convolution (groups = input channels C, C′ = m·C outputs) in Float32 by direct
/// kernels (`nk_dw_*` in dwconv_forward.c and dwconv_kernels.c) instead of one tiny GEMM per group: each output plane
/// reads one input plane through its own kH × kW filter. Planes run in parallel; the weight
/// gradient of each output channel sums over the batch inside one task in a fixed order, so
/// results do not depend on the thread count or on the kernel level.
enum DepthwiseKernels {
    /// Whether the direct kernels take a convolution of `g` with `groups` and `outChannels`:
    /// Float32, every input channel its own group, at least two channels.
    static func applies(dtype: DType, geometry g: WindowGeometry, groups: Int, outChannels: Int) -> Bool {
        dtype == .float32 && groups == g.channels && groups > 1 && outChannels % groups == 0
    }

    /// The C-side geometry of `g`.
    static func geometry(_ g: WindowGeometry) -> nk_dw_geom {
        nk_dw_geom(H: g.height, W: g.width, oH: g.outH, oW: g.outW, kH: g.kernelH, kW: g.kernelW, sH: g.strideH, sW: g.strideW,
                   pH: g.padH, pW: g.padW, dH: g.dilationH, dW: g.dilationW)
    }

    /// Planes per parallel block: about 64 K outputs, at least one plane.
    static func grain(_ plane: Int) -> Int { Swift.max(1, (1 << 16) / Swift.max(plane, 1)) }

    /// out[n, o] = act(x[n, o / m] ⋆ w[o] + b[o]) for x `[N, C, H, W]`, w `[C′, 1, kH, kW]`,
    /// out `[N, C′, Ho, Wo]` (act: identity or ReLU); ranges of planes run in parallel.
    static func forward(x: UnsafePointer<Float>, w: UnsafePointer<Float>, b: UnsafePointer<Float>?,
                        out: UnsafeMutablePointer<Float>, batch n: Int, outChannels co: Int, geometry g: WindowGeometry,
                        relu: Bool) {
        let geom = geometry(g)
        let (c, mult) = (g.channels, co / g.channels)
        Parallel.forRanges(count: n * co, grain: grain(g.outSpatial)) { r in
            var gl = geom
            nk_dw_forward_planes_f32(&gl, x, w, b, relu ? 1 : 0, out, c, mult, r.lowerBound, r.upperBound)
        }
    }

    /// The backward of ``forward(x:w:b:out:batch:outChannels:geometry:relu:)`` for v = ∂J/∂out
    /// (already masked by the ReLU when it had one): dx, dW and db where not nil, overwritten.
    static func backward(x: UnsafePointer<Float>, w: UnsafePointer<Float>, v: UnsafePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?,
                         batch n: Int, outChannels co: Int, geometry g: WindowGeometry) {
        let geom = geometry(g)
        let (c, mult, kk, inPlane, outPlane) = (g.channels, co / g.channels, g.kernelH * g.kernelW, g.inSpatial, g.outSpatial)
        if let dx {
            Parallel.forRanges(count: n * c, grain: grain(inPlane)) { r in
                var gl = geom
                for p in r {
                    let s = p / c, ch = p % c
                    nk_dw_backward_input_f32(&gl, v + (s * co + ch * mult) * outPlane, w + ch * mult * kk, mult,
                                             dx + p * inPlane)
                }
            }
        }
        if let dw {
            Parallel.forRanges(count: co, grain: 1) { r in
                var gl = geom
                for o in r {
                    nk_dw_backward_weight_f32(&gl, x + (o / mult) * inPlane, c * inPlane, v + o * outPlane, co * outPlane, n,
                                              dw + o * kk)
                }
            }
        }
        if let db {
            db.update(repeating: 0, count: co)
            for s in 0..<n { ConvKernels.rowSumAdd(db, v + s * co * outPlane, rows: co, cols: outPlane) }
        }
    }
}
