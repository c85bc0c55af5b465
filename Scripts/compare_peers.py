#!/usr/bin/env python3
"""Neural against its peers, back to back: the `neural-bench` cases mlp, cnn, layernorm,
elementwise, sgemm, attention, conv, gpt and bert and the peer scripts that define their protocols (../shared/peers/bench_*.py;
conv: Scripts/peers/bench_conv.py).

    swift build -c release --product neural-bench
    Scripts/compare_peers.py [--only layernorm,sgemm] [--threads 1,2] [--libs torch,jax]
                             [--passes 3] [--quick] [--bin PATH] [--isa native|avx2]

Runs are interleaved per case: for every pass, case and thread count, Neural's binary runs and then
each peer library, so that both see the same machine state (figures on shared machines drift by
±10% compute-bound and up to 2× memory-bound). Peers run with the peers' venv python
(${PEERS_DIR:-/tmp/neural-peers}/venv/bin/python, see ../shared/peers/README.md); when it or a
script is missing, those peers are skipped and the table says so.

The table lists, per bench and thread count, each peer figure next to Neural's with
`speed = neural/peer` for higher-is-better units (samples/s, GB/s) and `peer/neural` for times
(ms), so a speed above 1 always means Neural is faster. A peer case is paired with Neural's case of
the same name, or with the Neural case PAIRS names for it, or with Neural's only case of that bench
(elementwise: the peers' naive forms against Neural's plain expression, their out=, fused, donated
and copy forms against Neural's fused op). With several passes, medians are shown, and a last
column lists each pass's own speed (Neural's figure over the peer's that ran right after it), so
that the table shows how far the machine's noise moves a ratio. `--isa avx2` caps both sides at AVX2+FMA
(Neural through NEURAL_ISA=avx2, the peers through common.py's --isa: ATen, MKL, oneDNN and XLA,
with XLA's YNNPACK fusions off, since YNNPACK picks AVX-512 kernels whatever the cap),
to measure the AVX2 code paths on an AVX-512 machine; a line above the table names the level
Neural's RESULT lines report (isa=). The mlp and attention benches also get a `max_rss` row: the
peak resident memory (MiB) of each process as a whole, from wait4's rusage. gpt: the character
GPT's training step and inference forward; `--libs torch,torch_compile` adds torch.compile's training
step (bench_gpt.py has no compiled forward); Neural's gen_prompt* cases (ms per new character with
the KV cache) have no peer. bert: all-MiniLM-L6-v2-shaped sentence embeddings (embed_bs32_T128 in
sentences/s, embed_bs1_T16 latency in ms) against torch's nn.TransformerEncoder fast path.
"""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = ["mlp", "cnn", "layernorm", "elementwise", "sgemm", "attention", "conv", "gpt", "bert"]
# Cases whose peer script lives in this repository (Scripts/peers) instead of ../shared/peers.
LOCAL_SCRIPTS = {"conv": os.path.join(ROOT, "Scripts", "peers", "bench_conv.py")}
# Cases whose processes' peak memory gets a `max_rss` row (the MLP's memory target; attention's at
# T = 2048, which dominates that process's peak).
RSS_CASES = {"mlp", "attention"}
# Peer cases without a Neural case of the same name -> the Neural case they are compared with.
PAIRS = {"relu_axpb_out_16M": "relu_axpb_fused_16M", "relu_axpb_fused_donated_16M": "relu_axpb_fused_16M",
         "copy_16M": "relu_axpb_fused_16M", "copy_128M": "relu_axpb_fused_16M"}
KV = re.compile(r'(\w[\w+]*)=("[^"]*"|\S+)')


def parse(out):
    rows = []
    for line in out.splitlines():
        if line.startswith("RESULT "):
            rows.append({k: v.strip('"') for k, v in KV.findall(line[len("RESULT "):])})
    return rows


# Units where lower is better: times, and the peak memory of a process.
LOWER_IS_BETTER = ("ms", "MiB")


def speed(unit, peer, neural):
    """Above 1 when Neural is better: neural/peer for rates, peer/neural for times (ms) and memory (MiB)."""
    return (peer / neural) if unit in LOWER_IS_BETTER else (neural / peer)


def run(cmd, cwd, timeout, env=None):
    """Runs one benchmark process; returns its RESULT rows and its peak resident set (MiB, from
    wait4's rusage of that process alone; None when it timed out)."""
    print("$ " + " ".join(cmd), flush=True)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, text=True, env=env)
        killer = threading.Timer(timeout, p.kill)
        killer.start()
        _, status, usage = os.wait4(p.pid, 0)  # reaps the process: Popen's own wait is not used
        killer.cancel()
        rc = os.waitstatus_to_exitcode(status)
        if rc == -signal.SIGKILL and time.monotonic() - t0 >= timeout:
            print("   timed out", flush=True)
            return [], None
        out.seek(0)
        err.seek(0)
        rows = parse(out.read())
        stderr = err.read()
    for r in rows:
        print(f"   {r.get('lib')} t={r.get('threads')} {r.get('case')}: {r.get('value')} {r.get('unit', '')} "
              f"ext_load={r.get('ext_load')}", flush=True)
    if rc != 0:
        tail = (stderr.strip().splitlines() or ["(no stderr)"])[-1][:300]
        print(f"   rc={rc}: {tail}", flush=True)
    return rows, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=",".join(CASES), help="comma-separated cases (default: all)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--libs", default="torch", help="peer libraries, e.g. torch,jax (default torch, the anchor)")
    ap.add_argument("--passes", type=int, default=1, help="interleaved passes; medians are tabulated")
    ap.add_argument("--quick", action="store_true", help="pass --quick to every benchmark (smoke test)")
    ap.add_argument("--bin", default=None, help="neural-bench binary (default: the newer of .build/release and .build-bench/release)")
    ap.add_argument("--peers", default=os.environ.get("PEERS_SCRIPTS", os.path.join(ROOT, "..", "shared", "peers")),
                    help="directory of the peer scripts")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per command")
    ap.add_argument("--isa", choices=["native", "avx2"], default="native",
                    help="avx2: cap Neural (NEURAL_ISA) and every peer library at AVX2+FMA")
    a = ap.parse_args()

    cases = [c for c in a.only.split(",") if c]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        sys.exit(f"unknown case(s) {unknown}; choose from {CASES}")
    threads = [int(t) for t in a.threads.split(",") if t]
    libs = [l for l in a.libs.split(",") if l]
    built = [p for p in (os.path.join(ROOT, ".build", "release", "neural-bench"),
                         os.path.join(ROOT, ".build-bench", "release", "neural-bench")) if os.path.exists(p)]
    binary = a.bin or max(built, key=os.path.getmtime, default=None)  # the newest build
    if not binary or not os.path.exists(binary):
        sys.exit("neural-bench not found: build it with `swift build -c release --product neural-bench` or pass --bin")
    py = os.path.join(os.environ.get("PEERS_DIR", "/tmp/neural-peers"), "venv", "bin", "python")
    peers_dir = os.path.abspath(a.peers)
    skipped = []
    if not os.path.exists(py):
        skipped.append(f"all peers ({py} not found; run ../shared/peers/setup.sh)")
    quick = ["--quick"] if a.quick else []
    isa = ["--isa", a.isa] if a.isa != "native" else []
    env = dict(os.environ)
    if a.isa == "avx2":
        env["NEURAL_ISA"] = "avx2"
        # XLA hands dots to YNNPACK, whose kernels pick their ISA from cpuid and ignore
        # --xla_cpu_max_isa (perf shows ynn::dot_fp32_5x64x1_1x16x1_avx512 under --isa avx2, and
        # SGEMM at 440 GFLOP/s, past the AVX2 FMA peak): without the YNN fusions XLA's own code,
        # which honours the cap, runs the dots.
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_experimental_ynn_fusion_type=").strip()
    else:
        env.pop("NEURAL_ISA", None)

    results = {}  # (bench, threads, lib, case) -> [values]
    levels = set()  # the isa= Neural's RESULT lines report
    units = {}
    for p in range(a.passes):
        print(f"=== pass {p + 1}/{a.passes}", flush=True)
        for case in cases:
            script = LOCAL_SCRIPTS.get(case) or os.path.join(peers_dir, f"bench_{case}.py")
            if os.path.exists(py) and not os.path.exists(script):
                note = f"{case} peers ({script} not found)"
                if note not in skipped:
                    skipped.append(note)
            for t in threads:
                commands = [([binary, case, "--threads", str(t)] + quick, ROOT)]
                if os.path.exists(py) and os.path.exists(script):
                    for lib in libs:
                        commands.append(([py, script, "--threads", str(t), "--lib", lib] + quick + isa, peers_dir))
                for cmd, cwd in commands:
                    rows, max_rss = run(cmd, cwd, a.timeout, env)
                    for r in rows:
                        if r.get("lib") == "neural" and "isa" in r:
                            levels.add(r["isa"])
                    for r in rows:
                        key = (r.get("bench"), int(r.get("threads", t)), r.get("lib"), r.get("case"))
                        try:
                            results.setdefault(key, []).append(float(r["value"]))
                            units[key] = r.get("unit", "")
                        except (KeyError, ValueError):
                            print(f"   FAILED: {r.get('error', r)}", flush=True)
                    # The process's peak memory (the whole process: data, model, caches, runtime).
                    ok = [r for r in rows if "value" in r]
                    if case in RSS_CASES and max_rss is not None and ok:
                        key = (ok[0].get("bench"), int(ok[0].get("threads", t)), ok[0].get("lib"), "max_rss")
                        results.setdefault(key, []).append(max_rss)
                        units[key] = "MiB"

    med = {k: statistics.median(v) for k, v in results.items()}
    print()
    print(f"--isa {a.isa}: Neural ran at {', '.join(sorted(levels)) or '?'}"
          + (", the peers capped at AVX2 (common.py --isa avx2)" if a.isa == "avx2" else ", the peers at their native level"))
    def per_pass(unit, peer_key, neural_key):
        """Each pass's speed, in pass order ('' with one pass or when a figure is missing)."""
        pv, nv = results.get(peer_key, []), results.get(neural_key, [])
        if a.passes < 2 or len(pv) != len(nv):
            return ""
        return " ".join(f"{speed(unit, p, n):.2f}" for p, n in zip(pv, nv))

    print(f"{'bench':<12} {'thr':>3} {'peer':<14} {'case':<30} {'peer value':>12} {'neural':>12} "
          f"{'unit':<10} {'speed':>6}" + ("  per pass" if a.passes > 1 else ""))
    benches = sorted({k[0] for k in med}, key=lambda b: [c for c in CASES if b.startswith(c)] or [b])
    for bench in benches:
        for t in threads:
            neural = {k[3]: v for k, v in med.items() if k[0] == bench and k[1] == t and k[2] == "neural"}
            peers = sorted((k, v) for k, v in med.items() if k[0] == bench and k[1] == t and k[2] != "neural")
            for case, v in sorted(neural.items()):
                if not any(k[3] == case or PAIRS.get(k[3]) == case or len(neural) == 1 for k, _ in peers):
                    print(f"{bench:<12} {t:>3} {'-':<14} {case:<30} {'-':>12} {v:>12.4g} "
                          f"{units[(bench, t, 'neural', case)]:<10} {'-':>6}")
            for k, pv in peers:
                ncase = (k[3] if k[3] in neural else PAIRS[k[3]] if PAIRS.get(k[3]) in neural
                         else next(iter(neural)) if len(neural) == 1 else None)
                unit = units[k]
                if ncase is None:
                    print(f"{bench:<12} {t:>3} {k[2]:<14} {k[3]:<30} {pv:>12.4g} {'-':>12} {unit:<10} {'-':>6}")
                    continue
                nv = neural[ncase]
                passes = per_pass(unit, k, (bench, t, "neural", ncase))
                print(f"{bench:<12} {t:>3} {k[2]:<14} {k[3]:<30} {pv:>12.4g} {nv:>12.4g} {unit:<10} "
                      f"{speed(unit, pv, nv):>6.2f}" + (f"  {passes}" if passes else ""))
    print("\nspeed > 1: Neural better (neural/peer for samples/s and GB/s, peer/neural for ms and for MiB, "
          "the max_rss rows: each MLP or attention process's peak resident memory).")
    if a.passes > 1:
        print(f"medians over {a.passes} interleaved passes.")
    if skipped:
        print("skipped: " + "; ".join(skipped))


if __name__ == "__main__":
    main()
