"""PyTorch's side of `npm run bench`: the same measurements, printed as JSON {name: ms}.

Run by bench/run.ts with /usr/bin/python3 and the same thread count:
python3 torch_bench.py THREADS GROUPS EXPORT_DIR
GROUPS is a comma-separated list of models, tracing, gradients, transformers, detection, onnx-import; the
transformers group also writes torch.onnx's export of each transformer to EXPORT_DIR, which bench/run.ts runs
on ONNX Runtime as the engine's own baseline, and onnx-import writes resnet50's for bench/onnx-import.ts.
"""
import os
import json
import statistics
import sys
import time
import warnings

import torch
import torchvision
from torch import nn
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names
from torchvision.ops.misc import FrozenBatchNorm2d

warnings.filterwarnings("ignore")
torch.set_num_threads(int(sys.argv[1]))
GROUPS = sys.argv[2].split(",")
EXPORT_DIR = sys.argv[3]
TRANSFORMERS = ("vit_b_16", "swin_t")
torch.manual_seed(0)


def timeit(fn, min_runs=5, budget=2.0, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < budget and len(times) < 50):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


class Synthetic(nn.Module):
    """The same 10,000-node model bench/run.ts builds: 2,500 blocks of add, relu, add."""

    class Block(nn.Module):
        def forward(self, x):
            return torch.relu(x + 1)

    def __init__(self, n=2500):
        super().__init__()
        self.blocks = nn.ModuleList([Synthetic.Block() for _ in range(n)])

    def forward(self, x):
        for b in self.blocks:
            x = b(x) + x
        return x


def model_figures():
    out = {}
    with torch.no_grad():
        r50 = torchvision.models.resnet50().eval()
        for batch in (1, 8):
            xb = torch.randn(batch, 3, 224, 224)
            out[f"resnet50 full b{batch}"] = timeit(lambda: r50(xb))
            for node in ("layer2", "layer4"):
                fe = create_feature_extractor(r50, return_nodes=[node]).eval()
                out[f"resnet50 -> {node} b{batch}"] = timeit(lambda: fe(xb))
        # After the models: Debian's torch does linear with the generic reference BLAS, and the
        # model figures were seen to double when measured after it.
        x = torch.randn(1, 64, 56, 56)
        w = torch.randn(64, 64, 3, 3)
        out["eager conv2d 3x3 64->64 56x56"] = timeit(lambda: torch.nn.functional.conv2d(x, w, padding=1))
        a = torch.randn(64, 1024)
        lw = torch.randn(1024, 1024)
        out["eager linear 64x1024 @ 1024x1024"] = timeit(lambda: torch.nn.functional.linear(a, lw))
    return out


def tracing_figures():
    out = {}
    r50 = torchvision.models.resnet50().eval()
    out["getGraphNodeNames resnet50"] = timeit(lambda: get_graph_node_names(r50), 3, 3)
    out["createFeatureExtractor resnet50"] = timeit(lambda: create_feature_extractor(r50, ["layer3"]), 3, 3)
    r152 = torchvision.models.resnet152()
    out["createFeatureExtractor resnet152"] = timeit(lambda: create_feature_extractor(r152, ["layer3"]), 3, 3)
    d201 = torchvision.models.densenet201()
    out["createFeatureExtractor densenet201"] = timeit(lambda: create_feature_extractor(d201, ["features.denseblock3"]), 3, 3)
    syn = Synthetic()
    out["getGraphNodeNames synthetic 10k nodes"] = timeit(lambda: get_graph_node_names(syn), 1, 1)
    out["createFeatureExtractor synthetic 10k nodes"] = timeit(lambda: create_feature_extractor(syn, ["blocks.1200"]), 1, 1)
    return out


def transformer_figures():
    """Eager forward of each transformer at batch 1 and 8, and torch.onnx's export of it (opset 17)."""
    out = {}
    for name in TRANSFORMERS:
        model = torchvision.models.get_model(name).eval()
        with torch.no_grad():
            for batch in (1, 8):
                xb = torch.randn(batch, 3, 224, 224)
                # Debian's torch does linear with the reference BLAS: a ViT forward takes seconds (16 s
                # at batch 1 here), so one warm-up and one run.
                out[f"{name} b{batch}"] = timeit(lambda: model(xb), 1, 0, 1)
        torch.onnx.export(model, torch.randn(1, 3, 224, 224), os.path.join(EXPORT_DIR, f"{name}.onnx"),
                          opset_version=17, input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    return out


def detection_figures():
    """maskrcnn_resnet50_fpn on one 800x1066 image, whole and by stage, as bench/run.ts times featurefx's.
    The score threshold is 0, so that random weights give 100 detections and masks to paste."""
    out = {}
    name = "maskrcnn_resnet50_fpn 800x1066"
    # As maskrcnn_resnet50_fpn builds it for its COCO weights (FrozenBatchNorm2d, 3 trainable layers),
    # without downloading them.
    backbone = _resnet_fpn_extractor(torchvision.models.resnet50(norm_layer=FrozenBatchNorm2d), 3)
    model = torchvision.models.detection.MaskRCNN(backbone, num_classes=91, box_score_thresh=0.0).eval()
    images = [torch.rand(3, 800, 1066)]
    with torch.no_grad():
        out[name] = timeit(lambda: model(images), 3, 20)
        image_list, _ = model.transform(images)
        features = model.backbone(image_list.tensors)
        proposals, _ = model.rpn(image_list, features)
        detections, _ = model.roi_heads(features, proposals, image_list.image_sizes)

        def paste():
            return model.transform.postprocess([dict(d) for d in detections], image_list.image_sizes, [(800, 1066)])

        out[f"{name}: transform"] = timeit(lambda: model.transform(images), 3, 3)
        out[f"{name}: backbone+FPN"] = timeit(lambda: model.backbone(image_list.tensors), 3, 10)
        out[f"{name}: RPN"] = timeit(lambda: model.rpn(image_list, features), 3, 5)
        out[f"{name}: RoI heads"] = timeit(lambda: model.roi_heads(features, proposals, image_list.image_sizes), 3, 10)
        out[f"{name}: mask paste"] = timeit(paste, 3, 5)
        out[f"{name}: detections (count, not ms)"] = len(paste()[0]["scores"])
    return out


def onnx_import_export():
    """resnet50 exported as a user would (opset 17, input x, dynamic batch) for bench/onnx-import.ts: no figures."""
    torch.onnx.export(torchvision.models.resnet50().eval(), torch.randn(1, 3, 224, 224),
                      os.path.join(EXPORT_DIR, "resnet50.onnx"), opset_version=17, input_names=["x"],
                      output_names=["logits"], dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    return {}


def main():
    out = {}
    figures = {"models": model_figures, "tracing": tracing_figures, "gradients": gradient_figures,
               "transformers": transformer_figures, "detection": detection_figures,
               "onnx-import": onnx_import_export}
    for group in GROUPS:
        out.update(figures[group]())
    print(json.dumps(out))


def time_backward(model, x, runs=3):
    """The median time of backward alone: each forward runs outside the timed part."""
    times = []
    for _ in range(runs + 1):
        out = model(x).sum()
        t = time.perf_counter()
        out.backward()
        times.append((time.perf_counter() - t) * 1000)
        model.zero_grad(set_to_none=True)
    return statistics.median(times[1:])


def grad_cam(model, x, size):
    """Grad-CAM of layer4 for the top class, as src/explain/grad-cam.ts computes it."""
    feats = {}
    handle = model.layer4.register_forward_hook(lambda m, i, o: feats.__setitem__("a", o))
    logits = model(x)
    handle.remove()
    target = logits.argmax(1)
    score = logits.gather(1, target[:, None]).sum()
    (g,) = torch.autograd.grad(score, feats["a"])
    cam = torch.relu((g.mean((2, 3), keepdim=True) * feats["a"]).sum(1, keepdim=True))
    cam = torch.nn.functional.interpolate(cam, size=size, mode="bilinear", align_corners=False)
    low = cam.amin((2, 3), keepdim=True)
    return ((cam - low) / (cam.amax((2, 3), keepdim=True) - low + 1e-8))[:, 0]


def gradient_figures():
    """Training steps (forward, cross entropy, backward, SGD with momentum), backward alone, Grad-CAM."""
    out = {}
    for name in ("resnet18", "resnet50"):
        model = getattr(torchvision.models, name)().train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = torch.randn(8, 3, 224, 224)
        y = torch.arange(8)

        def step():
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

        out[f"{name} train step b8"] = timeit(step, 3, 3)
    r50 = torchvision.models.resnet50().eval()
    out["resnet50 backward b1"] = time_backward(r50, torch.randn(1, 3, 224, 224))
    x1 = torch.randn(1, 3, 224, 224)
    out["resnet50 Grad-CAM layer4 b1"] = timeit(lambda: grad_cam(r50, x1, (224, 224)), 3, 3)
    return out


if __name__ == "__main__":
    main()
