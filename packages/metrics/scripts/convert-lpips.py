#!/usr/bin/env python3
"""Convert the published LPIPS v0.1 AlexNet weights (PyTorch) to @noether/metrics' format.

Inputs (local files; this script downloads nothing):
  --lin      the LPIPS linear layers, lpips/weights/v0.1/alex.pth from
             github.com/richzhang/PerceptualSimilarity (also shipped inside the
             `lpips` pip package). Keys lin0.model.1.weight ... lin4.model.1.weight.
             A full `lpips.LPIPS(net='alex').state_dict()` (keys net.sliceK.N.*,
             lin*, scaling_layer.*) also works, and then --alexnet is not needed.
  --alexnet  torchvision's ImageNet AlexNet state dict (AlexNet_Weights.IMAGENET1K_V1,
             file alexnet-owt-7be5be79.pth; older torchvision: alexnet-owt-4df8aa71.pth).
             Keys features.{0,3,6,8,10}.{weight,bias}.

Output, in --out: manifest.json + weights.bin (float32 little-endian, tensors back to
back in manifest order, tfjs layouts: conv kernels [kh, kw, in, out]). Load it with
loadLpipsWeights(<out>) or NOETHER_LPIPS_WEIGHTS=<out>.

--cases N additionally writes cases.json: N seeded random image pairs (NHWC in
[-1, 1]) with the distances this script's own PyTorch forward pass gives, in the
format of shared/golden/lpips/cases.json, so the TypeScript side can be checked
on the converted weights (NOETHER_LPIPS_WEIGHTS=<out> npx vitest run).

Needs python3 with torch (numpy not required). Example:
  python3 packages/metrics/scripts/convert-lpips.py \
      --lin alex.pth --alexnet alexnet-owt-7be5be79.pth --out ~/.cache/noether/lpips-alex --cases 2
"""
import argparse
import json
import os
import struct
import sys
import tempfile

try:
    import torch
except ImportError as e:
    # One line, not a traceback: what is missing is an install.
    sys.exit(f"convert-lpips: needs PyTorch, which this python3 cannot import ({e}): install Debian's python3-torch (or pip install torch)")

# AlexNet feature convolutions LPIPS taps: (our name, torchvision features index, lpips slice, shape [out, in, k, k]).
CONVS = [
    ("conv1", 0, 1, (64, 3, 11, 11)),
    ("conv2", 3, 2, (192, 64, 5, 5)),
    ("conv3", 6, 3, (384, 192, 3, 3)),
    ("conv4", 8, 4, (256, 384, 3, 3)),
    ("conv5", 10, 5, (256, 256, 3, 3)),
]
# LPIPS' ScalingLayer constants (lpips/lpips.py).
SHIFT = [-0.030, -0.088, -0.188]
SCALE = [0.458, 0.448, 0.450]
SPEC = (
    "LPIPS v0.1: inputs NHWC in [-1,1]; x=(x-shift)/scale; AlexNet features conv1(11x11,s4,p2) relu [tap1] "
    "maxpool3s2 conv2(5x5,p2) relu [tap2] maxpool3s2 conv3(3x3,p1) relu [tap3] conv4(3x3,p1) relu [tap4] "
    "conv5(3x3,p1) relu [tap5]; pN means symmetric zero padding N; maxpool without padding. At each tap: "
    "unit-normalise over channels (eps 1e-10 added to the norm), squared difference, 1x1 conv with linN "
    "(no bias), spatial mean; LPIPS = sum over the 5 taps. Output one value per image."
)


def fail(msg):
    sys.exit(f"convert-lpips: {msg}")


def load_state(path, what):
    if not os.path.isfile(path):
        fail(f"{what} file {path} not found")
    try:
        sd = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - report any unpickling problem with the file name
        fail(f"could not read {what} file {path}: {e}")
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        fail(f"{path} is not a state dict ({type(sd).__name__})")
    # Checkpoints saved from DataParallel prefix every key with "module.".
    return {k[7:] if k.startswith("module.") else k: v for k, v in sd.items()}


def take(sd, key, shape, path):
    if key not in sd:
        near = sorted(k for k in sd if k.split(".")[0] == key.split(".")[0])[:8]
        fail(f"{path}: key '{key}' missing (keys with that prefix: {near or 'none'})")
    t = sd[key].detach().to(torch.float64)
    if tuple(t.shape) != tuple(shape):
        fail(f"{path}: '{key}' has shape {tuple(t.shape)}, expected {tuple(shape)}")
    if not torch.isfinite(t).all():
        fail(f"{path}: '{key}' holds non-finite values")
    return t


def lin_key(sd, i, path):
    # v0.1 NetLinLayer is Sequential(Dropout, Conv2d): lin{i}.model.1.weight; without dropout .model.0.
    for k in (f"lin{i}.model.1.weight", f"lin{i}.model.0.weight"):
        if k in sd:
            return k
    fail(f"{path}: no LPIPS linear layer lin{i}.model.*.weight (is this lpips/weights/v0.1/alex.pth?)")


def collect(args):
    lin_sd = load_state(args.lin, "--lin")
    full = any(k.startswith("net.slice") for k in lin_sd)
    if full:
        net_sd, net_path, key = lin_sd, args.lin, lambda n, s, p: f"net.slice{s}.{n}.{p}"
    else:
        if not args.alexnet:
            fail("--alexnet is required unless --lin is a full LPIPS state dict")
        net_sd, net_path, key = load_state(args.alexnet, "--alexnet"), args.alexnet, lambda n, s, p: f"features.{n}.{p}"
    tensors = []  # (name, torch tensor in tfjs layout)
    for i, (name, idx, sl, shape) in enumerate(CONVS):
        w = take(net_sd, key(idx, sl, "weight"), shape, net_path)
        b = take(net_sd, key(idx, sl, "bias"), (shape[0],), net_path)
        lin = take(lin_sd, lin_key(lin_sd, i, args.lin), (1, shape[0], 1, 1), args.lin)
        # torch conv weights [out, in, kh, kw] -> tfjs [kh, kw, in, out]
        tensors += [(f"{name}/kernel", w.permute(2, 3, 1, 0)), (f"{name}/bias", b), (f"lin{i + 1}/kernel", lin.permute(2, 3, 1, 0))]
    shift, scale = SHIFT, SCALE
    if full and "scaling_layer.shift" in lin_sd:
        got_shift = lin_sd["scaling_layer.shift"].flatten().to(torch.float64)
        got_scale = lin_sd["scaling_layer.scale"].flatten().to(torch.float64)
        # Keep the exact published decimals when the file holds them (as float32).
        if not (torch.allclose(got_shift, torch.tensor(SHIFT, dtype=torch.float64), atol=1e-7)
                and torch.allclose(got_scale, torch.tensor(SCALE, dtype=torch.float64), atol=1e-7)):
            shift, scale = got_shift.tolist(), got_scale.tolist()
    return tensors, shift, scale


def write_atomic(path, data):
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def lpips_forward(tensors, shift, scale, a, b):
    """The spec above in PyTorch (float64), NCHW; a, b in [-1, 1]. Returns [N]."""
    p = {n: t.permute(3, 2, 0, 1) if t.dim() == 4 else t for n, t in tensors}  # back to torch layout
    sh = torch.tensor(shift, dtype=torch.float64).view(1, 3, 1, 1)
    sc = torch.tensor(scale, dtype=torch.float64).view(1, 3, 1, 1)
    pads = {"conv1": (4, 2), "conv2": (1, 2), "conv3": (1, 1), "conv4": (1, 1), "conv5": (1, 1)}

    def taps(x):
        out, h = [], (x - sh) / sc
        for name, _, _, _ in CONVS:
            if name in ("conv2", "conv3"):
                h = torch.nn.functional.max_pool2d(h, 3, 2)
            stride, pad = pads[name]
            h = torch.relu(torch.nn.functional.conv2d(h, p[f"{name}/kernel"], p[f"{name}/bias"], stride, pad))
            out.append(h)
        return out

    total = 0
    for i, (fa, fb) in enumerate(zip(taps(a), taps(b))):
        na = fa / (fa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        nb = fb / (fb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        total = total + torch.nn.functional.conv2d((na - nb) ** 2, p[f"lin{i + 1}/kernel"]).mean(dim=(1, 2, 3))
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lin", required=True, help="LPIPS v0.1 alex.pth (linear layers), or a full LPIPS state dict")
    ap.add_argument("--alexnet", help="torchvision AlexNet state dict (alexnet-owt-7be5be79.pth)")
    ap.add_argument("--out", required=True, help="output folder (created if needed)")
    ap.add_argument("--cases", type=int, default=0, help="also write cases.json with this many random image pairs")
    ap.add_argument("--seed", type=int, default=0, help="seed for --cases")
    args = ap.parse_args()

    tensors, shift, scale = collect(args)
    os.makedirs(args.out, exist_ok=True)
    blob = b"".join(struct.pack(f"<{t.numel()}f", *t.contiguous().flatten().tolist()) for _, t in tensors)
    manifest = {
        "weights": [{"name": n, "shape": list(t.shape), "dtype": "float32"} for n, t in tensors],
        "scaling": {"shift": shift, "scale": scale},
        "spec": SPEC,
        "source": f"convert-lpips.py from {os.path.basename(args.lin)}"
        + (f" + {os.path.basename(args.alexnet)}" if args.alexnet else ""),
    }
    write_atomic(os.path.join(args.out, "weights.bin"), blob)
    write_atomic(os.path.join(args.out, "manifest.json"), json.dumps(manifest, indent=1).encode())
    print(f"wrote {args.out}/manifest.json and weights.bin ({len(blob)} bytes, {len(tensors)} tensors)")

    if args.cases > 0:
        g = torch.Generator().manual_seed(args.seed)
        # Use the float32 values the loader will see, so both sides start from the same numbers.
        t32 = [(n, t.to(torch.float32).to(torch.float64)) for n, t in tensors]
        cases = []
        for _ in range(args.cases):
            a = torch.rand(2, 64, 64, 3, generator=g, dtype=torch.float64) * 2 - 1
            b = (a + 0.3 * torch.randn(2, 64, 64, 3, generator=g, dtype=torch.float64)).clamp(-1, 1)
            a, b = a.to(torch.float32).to(torch.float64), b.to(torch.float32).to(torch.float64)
            d = lpips_forward(t32, shift, scale, a.permute(0, 3, 1, 2), b.permute(0, 3, 1, 2))
            cases.append({"a": a.tolist(), "b": b.tolist(), "lpips": d.tolist()})
        write_atomic(os.path.join(args.out, "cases.json"), json.dumps(cases).encode())
        print(f"wrote {args.out}/cases.json ({args.cases} pairs of 2 images)")


if __name__ == "__main__":
    main()
