"""The Python side of `npm run bench:e2e`: the script a PyTorch user writes for featurefx extract's job.

Run by bench/e2e.ts with /usr/bin/python3, timed from start-up to exit:
python3 torch_e2e.py IMAGES WEIGHTS OUT NODES BATCH WORKERS THREADS
PIL opens each JPEG in IMAGES (sorted) and converts it to RGB, torchvision's preset transform of
ResNet50_Weights.IMAGENET1K_V1 (the preset featurefx's registry mirrors for resnet50: Resize(256,
bilinear), CenterCrop(224), to float, Normalize) prepares it in a DataLoader with WORKERS workers,
and create_feature_extractor(resnet50 with WEIGHTS, NODES) runs BATCH images at a time on THREADS
threads. Each node's features go to OUT/<node>.npy, written batch by batch, and the image paths
in row order to OUT/rows.json. Prints JSON {"images", "preset"}.
"""
import json
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.models import ResNet50_Weights
from torchvision.models.feature_extraction import create_feature_extractor


class Images(Dataset):
    def __init__(self, paths, transform):
        self.paths, self.transform = paths, transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as img:
            return self.transform(img.convert("RGB"))


def main(images, weights, out, nodes, batch, workers, threads):
    torch.set_num_threads(threads)
    paths = sorted(os.path.join(images, f) for f in os.listdir(images) if f.lower().endswith((".jpg", ".jpeg")))
    preset = ResNet50_Weights.IMAGENET1K_V1.transforms()
    loader = DataLoader(Images(paths, preset), batch_size=batch, num_workers=workers)
    model = torchvision.models.resnet50()
    model.load_state_dict(torch.load(weights))
    extractor = create_feature_extractor(model.eval(), return_nodes=nodes)
    files = {}
    row = 0
    with torch.inference_mode():
        for x in loader:
            features = extractor(x)
            for node, value in features.items():
                if node not in files:
                    shape = (len(paths), *value.shape[1:])
                    files[node] = np.lib.format.open_memmap(os.path.join(out, f"{node}.npy"), "w+", np.float32, shape)
                files[node][row : row + len(x)] = value.numpy()
            row += len(x)
    for array in files.values():
        array.flush()
    with open(os.path.join(out, "rows.json"), "w") as f:
        json.dump(paths, f)
    described = {
        "resize": preset.resize_size,
        "crop": preset.crop_size,
        "interpolation": preset.interpolation.value,
    }
    print(json.dumps({"images": len(paths), "preset": described}))


if __name__ == "__main__":
    a = sys.argv[1:]
    main(a[0], a[1], a[2], a[3].split(","), int(a[4]), int(a[5]), int(a[6]))
