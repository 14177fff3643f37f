"""The data side of `npm run bench:e2e`: the image set and weights before the runs, the agreement after.

Run by bench/e2e.ts with /usr/bin/python3:
python3 e2e_data.py prepare DIR COUNT SUBSET
    writes DIR/resnet50.pth (torchvision's resnet50 initialised with seed 0, torch.save'd state
    dict) and DIR/images/, COUNT camera-sized (1280x960) JPEGs at quality 90, each a different
    crop, scale, flip and shift of one of scikit-image's sample photos (Debian's python3-skimage);
    without scikit-image, synthetic pictures (gradients, shapes, noise) instead, which the output
    says. DIR/images-SUBSET/ holds hard links to the first SUBSET images. Prints JSON
    {"source": ..., "photos": [...], "count": COUNT}.
python3 e2e_data.py agree FEATUREFX_DIR TORCH_DIR NODES POOLED
    compares featurefx extract's output folder with bench/torch_e2e.py's, image by image (matched
    by path): for each node in NODES (comma-separated), the relative error norm(a - b) / norm(b)
    with b torchvision's; for node POOLED, the cosine similarity of the globally average-pooled
    features. Prints JSON {node: {"median", "worst"}, "cosine <POOLED>": {"median", "worst"}, "images"}.
"""
import json
import os
import sys

import numpy as np

WIDTH, HEIGHT = 1280, 960
# Colour photos first; the grey ones (converted to RGB) widen the set.
PHOTOS = (
    "astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "stereo_motorcycle", "retina",
    "immunohistochemistry", "camera", "coins", "moon", "grass", "gravel", "brick",
)


def skimage_photos():
    """The sample photos as PIL RGB images, or None when scikit-image is not installed."""
    try:
        import skimage.data
    except ImportError:
        return None
    from PIL import Image

    photos = {}
    for name in PHOTOS:
        try:
            pixels = getattr(skimage.data, name)()
            # stereo_motorcycle is a left and right view with their disparity: both views are photos.
            views = {f"{name} left": pixels[0], f"{name} right": pixels[1]} if isinstance(pixels, tuple) else {name: pixels}
            for key, array in views.items():
                photos[key] = Image.fromarray(array).convert("RGB")
        except Exception:  # a sample missing from this version of scikit-image
            continue
    return photos or None


def synthetic_photo(rng):
    """A 1280x960 picture without photos: a colour gradient, random ellipses and rectangles, noise."""
    from PIL import Image, ImageDraw

    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    base = np.stack([x / WIDTH, y / HEIGHT, (x + y) / (WIDTH + HEIGHT)], axis=-1) * rng.uniform(80, 255, 3)
    img = Image.fromarray(base.astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = rng.integers(0, WIDTH), rng.integers(0, HEIGHT)
        box = [x0, y0, x0 + rng.integers(40, 400), y0 + rng.integers(40, 400)]
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    noisy = np.asarray(img, dtype=np.float32) + rng.normal(0, 8, (HEIGHT, WIDTH, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def variant(photo, rng):
    """A 4:3 crop of 60-100% of the photo's largest, shifted at random, maybe mirrored, at 1280x960."""
    from PIL import Image, ImageOps

    w, h = photo.size
    cw, ch = (w, w * 3 / 4) if w * 3 / 4 <= h else (h * 4 / 3, h)
    scale = rng.uniform(0.6, 1.0)
    cw, ch = cw * scale, ch * scale
    left, top = rng.uniform(0, w - cw), rng.uniform(0, h - ch)
    img = photo.resize((WIDTH, HEIGHT), Image.LANCZOS, box=(left, top, left + cw, top + ch))
    return ImageOps.mirror(img) if rng.random() < 0.5 else img


def prepare(folder, count, subset):
    import torch
    import torchvision

    torch.manual_seed(0)
    torch.save(torchvision.models.resnet50().state_dict(), os.path.join(folder, "resnet50.pth"))
    images, first = os.path.join(folder, "images"), os.path.join(folder, f"images-{subset}")
    os.makedirs(images)
    os.makedirs(first)
    photos = skimage_photos()
    names = sorted(photos) if photos else []
    for i in range(count):
        rng = np.random.default_rng(i)
        img = variant(photos[names[i % len(names)]], rng) if photos else synthetic_photo(rng)
        path = os.path.join(images, f"{i:05d}.jpg")
        img.save(path, quality=90)
        if i < subset:
            os.link(path, os.path.join(first, f"{i:05d}.jpg"))
    source = "scikit-image sample photos" if photos else "synthetic (python3-skimage is not installed)"
    print(json.dumps({"source": source, "photos": names, "count": count}))


def featurefx_arrays(folder):
    """featurefx extract's arrays by key (memory-mapped) and its row paths, from its manifest."""
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    arrays = {}
    for record in manifest["arrays"]:
        file = os.path.join(folder, record["file"])
        if file.endswith(".npy"):
            arrays[record["key"]] = np.load(file, mmap_mode="r")
        else:  # safetensors: the record says where the array's data starts
            arrays[record["key"]] = np.memmap(
                file, dtype=np.float32, mode="r", offset=record["offset"], shape=tuple(record["shape"])
            )
    return arrays, manifest["rows"]


def agree(featurefx_dir, torch_dir, nodes, pooled):
    ours, our_rows = featurefx_arrays(featurefx_dir)
    with open(os.path.join(torch_dir, "rows.json")) as f:
        torch_rows = {os.path.realpath(p): i for i, p in enumerate(json.load(f))}
    theirs = {node: np.load(os.path.join(torch_dir, f"{node}.npy"), mmap_mode="r") for node in nodes}
    errors = {node: [] for node in nodes}
    cosines = []
    for row, path in enumerate(our_rows):
        j = torch_rows[os.path.realpath(path)]
        for node in nodes:
            a, b = np.asarray(ours[node][row], np.float64), np.asarray(theirs[node][j], np.float64)
            errors[node].append(np.linalg.norm(a - b) / np.linalg.norm(b))
            if node == pooled:
                pa, pb = a.mean(axis=(1, 2)), b.mean(axis=(1, 2))
                cosines.append(pa @ pb / (np.linalg.norm(pa) * np.linalg.norm(pb)))
    out = {node: {"median": float(np.median(e)), "worst": float(np.max(e))} for node, e in errors.items()}
    out[f"cosine {pooled}"] = {"median": float(np.median(cosines)), "worst": float(np.min(cosines))}
    out["images"] = len(our_rows)
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "agree":
        agree(sys.argv[2], sys.argv[3], sys.argv[4].split(","), sys.argv[5])
    else:
        sys.exit(f"e2e_data.py: unknown command '{sys.argv[1]}'; commands: prepare, agree")
