#!/usr/bin/env python3
"""torch.nn.LSTM / torch.nn.GRU timed as `neural-bench recurrent` times Neural's (same shapes and
protocol): a 2-layer batch_first network on Float32 input [batch, seq, input] of standard normals;
fwd under no_grad, fwdbwd = forward + backward of sum(out * g) with parameter gradients reset.
Calibrate to ~0.2 s per repeat, 1 warm-up repeat, 9 timed repeats (--quick: 3); median ms per call.

    ${PEERS_DIR:-/tmp/neural-peers}/venv/bin/python Scripts/bench_recurrent.py --threads 2 [--bidirectional]
"""
import argparse
import statistics
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--batch", type=int, default=64)
p.add_argument("--seq", type=int, default=100)
p.add_argument("--input", type=int, default=128)
p.add_argument("--hidden", type=int, default=256)
p.add_argument("--bidirectional", action="store_true")
p.add_argument("--quick", action="store_true")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
x = torch.randn(a.batch, a.seq, a.input)
for kind, cls in [("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)]:
    m = cls(a.input, a.hidden, num_layers=2, batch_first=True, bidirectional=a.bidirectional)
    g = torch.randn(a.batch, a.seq, (2 if a.bidirectional else 1) * a.hidden)
    tag = f"{kind}_b{a.batch}_t{a.seq}_i{a.input}_h{a.hidden}_l2" + ("_bi" if a.bidirectional else "")

    def fwd():
        with torch.no_grad():
            m(x)

    def fwdbwd():
        m.zero_grad(set_to_none=False)
        (m(x)[0] * g).sum().backward()

    for name, body in [("fwd_" + tag, fwd), ("fwdbwd_" + tag, fwdbwd)]:
        inner, t = 1, 0.0
        while True:
            s = time.perf_counter()
            for _ in range(inner):
                body()
            t = time.perf_counter() - s
            if t >= 0.2 or inner >= 1 << 20:
                break
            inner *= 2
        times = []
        for r in range(1 + (3 if a.quick else 9)):
            s = time.perf_counter()
            for _ in range(inner):
                body()
            if r > 0:
                times.append((time.perf_counter() - s) / inner * 1000)
        print(f"RESULT lib=torch bench=recurrent threads={a.threads} case={name} value={statistics.median(times):.3f} unit=ms inner={inner}")
