"""torch's side of `neural-bench tensorops`: the same ops and shapes, forward+backward, Float32.
Run: /tmp/neural-peers/venv/bin/python Scripts/bench_tensor_ops.py --threads 2   (beside: swift run -c release neural-bench tensorops --threads 2)"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--quick", action="store_true")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)


def measure(name, shapes, f):
    xs = [torch.randn(*s, requires_grad=True) for s in shapes]
    dy = torch.randn(f(*xs).shape)

    def body():
        for x in xs:
            x.grad = None
        f(*xs).backward(dy)
    inner, t = 1, 0.0
    while True:
        s = time.perf_counter()
        for _ in range(inner):
            body()
        t = time.perf_counter() - s
        if t > 0.1 or inner > 100000:
            break
        inner *= 2
    times = []
    for r in range((3 if a.quick else 7) + 1):
        s = time.perf_counter()
        for _ in range(inner):
            body()
        times.append((time.perf_counter() - s) / inner * 1e3)
    print(f"RESULT bench=tensorops lib=torch threads={a.threads} case={name} ms={statistics.median(times[1:]):.4f}")


measure("pad_reflect_32x64x56x56", [(32, 64, 56, 56)], lambda x: F.pad(x, [1, 1, 1, 1], mode="reflect"))
measure("upsample_bilinear2x_32x64x28x28", [(32, 64, 28, 28)],
        lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
measure("adaptiveavgpool3x3_32x256x14x14", [(32, 256, 14, 14)], lambda x: F.adaptive_avg_pool2d(x, 3))
rms = torch.nn.RMSNorm(1024)
measure("rmsnorm_4096x1024", [(4096, 1024)], lambda x: rms(x))
measure("einsum_bhqd_bhkd_8x8x256x64", [(8, 8, 256, 64), (8, 8, 256, 64)], lambda q, k: torch.einsum("bhqd,bhkd->bhqk", q, k))
