"""PyTorch's side of `neural-bench conv` (Scripts/compare_peers.py --only conv): the same layer shapes,
Float32, NCHW, forward alone and forward + backward (∂J/∂W, ∂J/∂b and ∂J/∂x where Neural computes it),
milliseconds per call (median of the repeats).

  conv1_1to32_28x28, conv2_32to64_26x26      3×3 convolutions of the peers' CNN, batch 64
  dw3x3_c32_56x56_b32                        depthwise 3×3 (MobileNet style), 32 channels, padding 1, batch 32
  grouped3x3_g4_c64_28x28_b32                3×3, 64 → 64 channels in 4 groups, padding 1, batch 32
  convT4x4s2_c64to32_14to28_b32              ConvTranspose2d 64 → 32, kernel 4, stride 2, padding 1: 14×14 → 28×28, batch 32
                                             (the MNIST autoencoder's decoder); the same kernel, stride and padding at
  convT4x4s2_c128to64_16to32_b32             a DCGAN generator's middle layer,
  convT4x4s2_c256to128_8to16_b64             its first upsampling layer (few positions, many channels),
  convT4x4s2_c64to3_32to64_b32               its RGB output layer,
  convT4x4s2_c32to1_14to28_b64               and the autoencoder's one-channel output layer

    /tmp/neural-peers/venv/bin/python Scripts/peers/bench_conv.py --threads 2 --lib torch
It imports the shared peers' common.py (../shared/peers, or $PEERS_SCRIPTS).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("PEERS_SCRIPTS", os.path.join(HERE, "..", "..", "..", "shared", "peers")))
import common  # noqa: E402


def extra(p):
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--warm", type=int, default=3)


T = common.setup_threads(extra)
A = common.ARGS
REPS, WARM = (A.reps, A.warm) if not A.quick else (3, 1)
LIBS = ["torch"] if A.lib == "all" else A.lib.split(",")

CASES = [
    # name, x shape, layer factory, input gradient
    ("conv1_1to32_28x28", (64, 1, 28, 28), lambda nn: nn.Conv2d(1, 32, 3), False),
    ("conv2_32to64_26x26", (64, 32, 26, 26), lambda nn: nn.Conv2d(32, 64, 3), True),
    ("dw3x3_c32_56x56_b32", (32, 32, 56, 56), lambda nn: nn.Conv2d(32, 32, 3, padding=1, groups=32), True),
    ("grouped3x3_g4_c64_28x28_b32", (32, 64, 28, 28), lambda nn: nn.Conv2d(64, 64, 3, padding=1, groups=4), True),
] + [
    (f"convT4x4s2_c{ci}to{co}_{side}to{2 * side}_b{n}", (n, ci, side, side),
     lambda nn, ci=ci, co=co: nn.ConvTranspose2d(ci, co, 4, stride=2, padding=1), True)
    for ci, co, side, n in [(64, 32, 14, 32), (128, 64, 16, 32), (256, 128, 8, 64), (64, 3, 32, 32), (32, 1, 14, 64)]
]

for lib in LIBS:
    if lib != "torch":
        continue
    import torch
    import torch.nn as nn
    torch.manual_seed(1)
    for name, shape, make, input_grad in CASES:
        layer = make(nn)
        x = torch.rand(*shape, requires_grad=input_grad)
        with torch.no_grad():
            v = torch.ones_like(layer(x))

        def fwd():
            with torch.no_grad():
                layer(x)

        def fwd_bwd():
            layer.zero_grad(set_to_none=True)
            x.grad = None
            layer(x).backward(v)

        for suffix, fn in (("_fwd", fwd), ("_fwd_bwd", fwd_bwd)):
            common.wait_idle(max_wait=10)
            times, m = common.time_repeats(fn, reps=REPS, warmup=WARM)
            common.report("conv", "torch", T, name + suffix, times, m, work=None, unit="ms")
