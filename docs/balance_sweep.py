"""The balance sweep of docs/balance.md, written independently of the package (PyTorch).

The suite's style_transfer objective (content MSE at relu4_2, weight 1; style
Σ_l β/N_l² mean((Ĝ-Â)²) with Ĝ = FᵀF/M at relu1_1..relu5_1; max pooling; from the content
image) on ImageNet VGG16, for several β and sizes, with torch.optim.LBFGS. Writes one npz
per content/style pair (the images after each snapshot's iterations, and the losses).

Put beside this file: vgg16_to5_1.npz (VGG16's convolutions to block5_conv1; make it with
`python balance_sweep.py convert PATH/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`,
which needs h5py) and a folder img/ with the images. Then, on a GPU machine:

    OUT=out python balance_sweep.py tubingen.jpg:starry_night.jpg,golden_gate.jpg:the_scream.jpg \
        256,384,512 10,30,100,300,1000 200,500
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
OUT = os.environ.get("OUT", "/tmp/out")
HERE = os.path.dirname(os.path.abspath(__file__))

BLOCKS = ((1, 2), (2, 2), (3, 3), (4, 3), (5, 1))
WEIGHTS = os.path.join(HERE, "vgg16_to5_1.npz")


def convert(h5_path):
    """Keras' no-top VGG16 file -> vgg16_to5_1.npz (kernels (kh, kw, in, out), biases)."""
    import h5py
    arrays = {}
    with h5py.File(h5_path, "r") as weights:
        for b, n in BLOCKS:
            for c in range(1, n + 1):
                group = weights[f"block{b}_conv{c}"][f"block{b}_conv{c}"]
                for kind in ("kernel", "bias"):
                    name = next(key for key in group if key.startswith(kind))
                    arrays[f"block{b}_conv{c}_{kind}"] = group[name][()]
    np.savez(WEIGHTS, **arrays)


def load_convs():
    weights = np.load(WEIGHTS)
    convs = []
    for b, n in BLOCKS:
        for c in range(1, n + 1):
            kernel = torch.tensor(weights[f"block{b}_conv{c}_kernel"]).permute(3, 2, 0, 1)
            convs.append((b, c, kernel.contiguous().to(DEVICE),
                          torch.tensor(weights[f"block{b}_conv{c}_bias"]).to(DEVICE)))
    return convs


MEAN_BGR = torch.tensor([103.939, 116.779, 123.68], device=DEVICE).view(1, 3, 1, 1)
CONTENT = ("relu4_2",)
STYLE = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def features(image):
    """image (1, 3, H, W) RGB in [0, 255] -> {layer: (C, H, W)}."""
    x = image.flip(1) - MEAN_BGR
    out = {}
    last_block = 1
    for b, c, k, bias in load_convs.cache:
        if b != last_block:
            x = F.max_pool2d(x, 2)
            last_block = b
        x = F.relu(F.conv2d(x, k, bias, padding=1))
        out[f"relu{b}_{c}"] = x[0]
    return out


def gram(f):
    flat = f.reshape(f.shape[0], -1)
    return flat @ flat.T / flat.shape[1]


def load(name, size):
    img = Image.open(os.path.join(HERE, "img", name)).convert("RGB")
    scale = size / max(img.size)
    img = img.resize((max(1, round(img.size[0] * scale)), max(1, round(img.size[1] * scale))),
                     Image.Resampling.LANCZOS)
    return torch.tensor(np.asarray(img, np.float32)).permute(2, 0, 1)[None].contiguous().to(DEVICE)


def run(content_name, style_name, size, beta, snapshots):
    content, style = load(content_name, size), load(style_name, size)
    with torch.no_grad():
        p = {l: v for l, v in features(content).items() if l in CONTENT}
        a = {l: gram(v) for l, v in features(style).items() if l in STYLE}
    x = content.clone().contiguous().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, max_iter=100, max_eval=250, history_size=10,
                            tolerance_grad=0.0, tolerance_change=0.0,
                            line_search_fn="strong_wolfe")
    terms = {}
    evals = [0]

    def closure():
        opt.zero_grad()
        f = features(x)
        c = sum(torch.mean((f[l] - p[l]) ** 2) for l in CONTENT)
        s = sum(torch.mean((gram(f[l]) - a[l]) ** 2) / f[l].shape[0] ** 2 for l in STYLE)
        loss = c + beta * s
        loss.backward()
        terms.update(content=float(c), style=float(beta * s), total=float(loss))
        evals[0] += 1
        return loss

    shots, done = {}, 0
    torch.cuda.synchronize() if DEVICE == "cuda" else None
    start = time.perf_counter()
    for target in snapshots:
        while done < target:
            step = min(100, target - done)
            opt.param_groups[0]["max_iter"] = step
            opt.step(closure)
            done += step
        shots[target] = (x.detach().clamp(0, 255)[0].permute(1, 2, 0).round()
                         .to(torch.uint8).cpu().numpy(), dict(terms))
    torch.cuda.synchronize() if DEVICE == "cuda" else None
    return shots, time.perf_counter() - start, evals[0]


def main():
    if sys.argv[1] == "convert":
        return convert(sys.argv[2])
    load_convs.cache = load_convs()
    pairs = [p.split(":") for p in sys.argv[1].split(",")]
    sizes = [int(s) for s in sys.argv[2].split(",")]
    betas = [float(b) for b in sys.argv[3].split(",")]
    snapshots = [int(s) for s in sys.argv[4].split(",")]
    os.makedirs(OUT, exist_ok=True)
    for content_name, style_name in pairs:
        arrays, meta = {}, []
        for size in sizes:
            for beta in betas:
                shots, seconds, num_evals = run(content_name, style_name, size, beta, snapshots)
                for it, (image, terms) in shots.items():
                    arrays[f"{size}_{beta:g}_{it}"] = image
                    meta.append(dict(size=size, beta=beta, iterations=it, **terms))
                print(f"{content_name} {style_name} {size}px beta={beta:g}: {seconds:.1f} s, "
                      f"{num_evals} evals, {json.dumps(shots[snapshots[-1]][1])}", flush=True)
        name = f"{content_name.split('.')[0]}__{style_name.split('.')[0]}"
        np.savez_compressed(os.path.join(OUT, name + ".npz"), meta=json.dumps(meta), **arrays)
    if DEVICE == "cuda":
        print(torch.cuda.get_device_name(), "peak MB", torch.cuda.max_memory_allocated() / 1e6)


if __name__ == "__main__":
    main()
