#!/usr/bin/env python3
"""Torch <-> Neural checkpoint round trip, both directions, through safetensors files.

Run with a Python that has torch and safetensors (e.g. /tmp/neural-peers/venv/bin/python):

  torch_roundtrip.py neural-to-torch DIR
      For every DIR/NAME.model.safetensors written by Neural (Checkpoint.save) with its
      DIR/NAME.io.safetensors (tensors "input" and "output"; metadata "layers": the architecture as
      JSON), builds the equivalent torch.nn.Sequential, loads the checkpoint with
      safetensors.torch.load_file + load_state_dict(strict=True), runs it in eval mode on "input"
      and compares with Neural's "output". Prints one RESULT line per model; exits 1 when any
      maximum absolute difference exceeds the tolerance (1e-5).

  torch_roundtrip.py torch-to-neural DIR
      Builds the same architectures in torch (seeded; BatchNorm trained on a few batches so its
      running statistics and num_batches_tracked are not the defaults), and writes
      DIR/torch_NAME.model.safetensors (safetensors.torch.save_file(model.state_dict())) and
      DIR/torch_NAME.io.safetensors (input, eval-mode output, metadata "layers") for Neural to load
      and compare (Tests/NeuralTests/Serialization/TorchRoundTripTests.swift does).

  torch_roundtrip.py cli NEURAL MNIST_DIR WORKDIR
      The CLI's own checkpoint, as users get it: runs, in WORKDIR,
        NEURAL train --data mnist --data-dir MNIST_DIR --model "conv2d(8,3) relu maxpool(2) flatten linear(10)"
                     --epochs 1 --checkpoint ck.safetensors
      loads ck.safetensors with safetensors.torch.load_file + load_state_dict(strict=True) into the
      equivalent torch.nn.Sequential, checks that the resume-state file it names is beside it with
      the same save id, writes the first 1000 MNIST test images (normalised as Neural's loader does)
      to X.npy, runs `NEURAL predict --checkpoint ck.safetensors --input X.npy --output Y.npy`, and
      compares torch's outputs with Y.npy. Prints RESULT lines; exits 1 when the maximum absolute
      difference exceeds the tolerance (1e-5).

"layers" JSON: a list of {"type": "Linear", "in": I, "out": O} | {"type": "ReLU"} |
{"type": "Conv2d", "in": C, "out": C2, "kernel": K, "stride": S, "padding": P} |
{"type": "BatchNorm2d", "features": C} | {"type": "MaxPool2d", "kernel": K, "stride": S} | {"type": "Flatten"}.
"""
import glob
import gzip
import json
import os
import subprocess
import sys

import numpy as np

import torch
from safetensors.torch import load_file, save_file

TOLERANCE = 1e-5

ARCHITECTURES = {
    "mlp": ([{"type": "Linear", "in": 6, "out": 32}, {"type": "ReLU"},
             {"type": "Linear", "in": 32, "out": 16}, {"type": "ReLU"},
             {"type": "Linear", "in": 16, "out": 3}], [5, 6]),
    "cnn": ([{"type": "Conv2d", "in": 1, "out": 4, "kernel": 3, "stride": 1, "padding": 1},
             {"type": "BatchNorm2d", "features": 4}, {"type": "ReLU"},
             {"type": "MaxPool2d", "kernel": 2, "stride": 2},
             {"type": "Conv2d", "in": 4, "out": 6, "kernel": 3, "stride": 1, "padding": 0},
             {"type": "ReLU"}, {"type": "Flatten"},
             {"type": "Linear", "in": 6 * 2 * 2, "out": 10}], [3, 1, 8, 8]),
}


def build(layers):
    mods = []
    for spec in layers:
        t = spec["type"]
        if t == "Linear":
            mods.append(torch.nn.Linear(spec["in"], spec["out"]))
        elif t == "ReLU":
            mods.append(torch.nn.ReLU())
        elif t == "Conv2d":
            mods.append(torch.nn.Conv2d(spec["in"], spec["out"], spec["kernel"],
                                        stride=spec.get("stride", 1), padding=spec.get("padding", 0)))
        elif t == "BatchNorm2d":
            mods.append(torch.nn.BatchNorm2d(spec["features"]))
        elif t == "MaxPool2d":
            mods.append(torch.nn.MaxPool2d(spec["kernel"], stride=spec.get("stride")))
        elif t == "Flatten":
            mods.append(torch.nn.Flatten())
        else:
            raise SystemExit(f"torch_roundtrip: unknown layer type {t!r} in 'layers'")
    return torch.nn.Sequential(*mods)


def neural_to_torch(directory):
    models = sorted(glob.glob(os.path.join(directory, "*.model.safetensors")))
    models = [m for m in models if not os.path.basename(m).startswith("torch_")]
    if not models:
        raise SystemExit(f"torch_roundtrip: no NAME.model.safetensors in {directory}")
    worst = 0.0
    for path in models:
        name = os.path.basename(path)[: -len(".model.safetensors")]
        io_path = os.path.join(directory, name + ".io.safetensors")
        from safetensors import safe_open
        with safe_open(io_path, framework="pt") as f:
            layers = json.loads(f.metadata()["layers"])
        io = load_file(io_path)
        state = load_file(path)
        model = build(layers).to(io["input"].dtype)
        model.load_state_dict(state, strict=True)   # raises on any missing/unexpected/mis-shaped key
        model.eval()
        with torch.no_grad():
            out = model(io["input"])
        diff = (out.double() - io["output"].double()).abs().max().item()
        worst = max(worst, diff)
        bn = [k for k, v in state.items() if k.endswith("num_batches_tracked")]
        bn_info = " ".join(f"{k}={state[k].item()}({state[k].dtype})" for k in bn)
        print(f"RESULT direction=neural->torch model={name} keys={len(state)} output_shape={list(out.shape)} "
              f"max_abs_diff={diff:.3e} {bn_info}".rstrip())
    ok = worst <= TOLERANCE
    print(f"RESULT direction=neural->torch max_abs_diff={worst:.3e} tolerance={TOLERANCE:g} {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def torch_to_neural(directory):
    os.makedirs(directory, exist_ok=True)
    for name, (layers, input_shape) in ARCHITECTURES.items():
        torch.manual_seed(1234)
        model = build(layers)
        if any(l["type"] == "BatchNorm2d" for l in layers):
            model.train()
            with torch.no_grad():
                for _ in range(3):
                    model(torch.randn([8] + input_shape[1:]) * 2 + 0.5)
        model.eval()
        x = torch.randn(input_shape)
        with torch.no_grad():
            y = model(x)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                  os.path.join(directory, f"torch_{name}.model.safetensors"))
        save_file({"input": x, "output": y}, os.path.join(directory, f"torch_{name}.io.safetensors"),
                  metadata={"layers": json.dumps(layers)})
        print(f"RESULT direction=torch->neural model={name} wrote torch_{name}.model.safetensors "
              f"keys={len(model.state_dict())} output_shape={list(y.shape)}")
    return 0


CLI_SPEC = "conv2d(8,3) relu maxpool(2) flatten linear(10)"
# The same network in torch: conv2d(8,3) has stride 1 and no padding, so 28×28 → 26×26 → 13×13.
CLI_LAYERS = [{"type": "Conv2d", "in": 1, "out": 8, "kernel": 3, "stride": 1, "padding": 0},
              {"type": "ReLU"}, {"type": "MaxPool2d", "kernel": 2, "stride": 2}, {"type": "Flatten"},
              {"type": "Linear", "in": 8 * 13 * 13, "out": 10}]
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081   # MNIST.mean and MNIST.std in Sources/Neural/Data/MNIST.swift


def mnist_test(directory, count):
    """The first `count` test images [count, 1, 28, 28] normalised as MNIST.load(normalize: true), and their labels."""
    with gzip.open(os.path.join(directory, "t10k-images-idx3-ubyte.gz")) as f:
        pixels = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)[:count]
    with gzip.open(os.path.join(directory, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)[:count]
    scale, shift = np.float32(1 / (255 * MNIST_STD)), np.float32(-MNIST_MEAN / MNIST_STD)
    return pixels.astype(np.float32) * scale + shift, labels.astype(np.int64)


def run(command, cwd):
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"torch_roundtrip: {' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def cli(neural, mnist_dir, workdir):
    neural = os.path.abspath(neural)   # the commands run in workdir
    os.makedirs(workdir, exist_ok=True)
    ck = os.path.join(workdir, "ck.safetensors")
    out = run([neural, "train", "--data", "mnist", "--data-dir", os.path.abspath(mnist_dir), "--model", CLI_SPEC,
               "--epochs", "1", "--checkpoint", "ck.safetensors"], workdir)
    print(f"RESULT direction=cli train: {[l for l in out.splitlines() if l.startswith('done:')][-1]}")

    from safetensors import safe_open
    with safe_open(ck, framework="pt") as f:
        metadata = f.metadata()
    state_name, state_id = metadata["neural.state.file"], metadata["neural.state.id"]
    with safe_open(os.path.join(workdir, state_name), framework="pt") as f:
        if f.metadata().get("neural.state.id") != state_id:
            raise SystemExit(f"torch_roundtrip: {state_name} does not carry the save id {state_id} of ck.safetensors")
        state_tensors = len(f.keys())

    state = load_file(ck)
    model = build(CLI_LAYERS)
    model.load_state_dict(state, strict=True)   # raises on any missing/unexpected/mis-shaped key
    model.eval()
    print(f"RESULT direction=cli load_state_dict=strict keys={sorted(state)} "
          f"state_file={state_name} state_tensors={state_tensors}")

    x, labels = mnist_test(mnist_dir, 1000)
    np.save(os.path.join(workdir, "X.npy"), x)
    run([neural, "predict", "--checkpoint", "ck.safetensors", "--input", "X.npy", "--output", "Y.npy"], workdir)
    y = torch.from_numpy(np.load(os.path.join(workdir, "Y.npy")))
    with torch.no_grad():
        out = model(torch.from_numpy(x))
    diff = (out.double() - y.double()).abs().max().item()
    agree = (out.argmax(1) == y.argmax(1)).float().mean().item()
    accuracy = (out.argmax(1).numpy() == labels).mean()
    ok = diff <= TOLERANCE
    print(f"RESULT direction=cli examples={len(labels)} output_shape={list(out.shape)} max_abs_diff={diff:.3e} "
          f"argmax_agreement={agree:.4f} torch_accuracy={accuracy:.4f} tolerance={TOLERANCE:g} {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def main(argv):
    if len(argv) == 5 and argv[1] == "cli":
        torch.set_num_threads(1)
        return cli(argv[2], argv[3], argv[4])
    if len(argv) != 3 or argv[1] not in ("neural-to-torch", "torch-to-neural"):
        print(__doc__, file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    return neural_to_torch(argv[2]) if argv[1] == "neural-to-torch" else torch_to_neural(argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
