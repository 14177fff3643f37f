/**
 * `npm run bench`: featurefx against PyTorch on this machine, in one run, with the same thread
 * count. Prints a table of medians and ratios (featurefx / PyTorch; below 1 means faster);
 * `--json FILE` writes the same figures, `--only transformers,sessions` measures some groups
 * (models, tracing, gradients, transformers, sessions, detection, onnx-import: bench/onnx-import.ts,
 * start: bench/start.ts).
 * PyTorch figures come from bench/torch_bench.py run with Debian's python3-torch when it is installed; for the
 * transformers it also exports each model with torch.onnx, and ONNX Runtime's time on that file
 * is the engine's own limit that compiled featurefx is compared with.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  F,
  Module,
  arange,
  compile,
  compileGradCam,
  compileTrainingStep,
  gradCam,
  optim,
  createFeatureExtractor,
  getModel,
  getGraphNodeNames,
  rand,
  randn,
  resnet152,
  resnet50,
  setNumThreads,
  type Tensor,
} from '../src/index.js';
import { NativeSession } from '../src/runtime/native-session.js';
import { noGrad } from '../src/autograd/grad-mode.js';
import { onnxImportFigures } from './onnx-import.js';
import { startFigures } from './start.js';
import { compileDetector } from '../src/models/detection/compiled-backbone.js';
import type { MaskRCNN } from '../src/models/detection/mask-rcnn.js';
import type { Detection } from '../src/models/detection/types.js';

const GROUPS = [
  'models',
  'tracing',
  'gradients',
  'transformers',
  'sessions',
  'detection',
  'onnx-import',
  'start',
] as const;
type Group = (typeof GROUPS)[number];
const onlyAt = process.argv.indexOf('--only');
const groups = (onlyAt >= 0 ? (process.argv[onlyAt + 1] ?? '').split(',') : [...GROUPS]) as Group[];
for (const g of groups)
  if (!GROUPS.includes(g)) throw new Error(`--only: unknown group '${g}'; groups: ${GROUPS.join(', ')}`);
const TRANSFORMERS = ['vit_b_16', 'swin_t'];

const threads = Number(process.env.BENCH_THREADS ?? availableParallelism());
setNumThreads(threads);

function timeit(fn: () => unknown, minRuns = 5, budgetMs = 2000): number {
  fn();
  fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || (performance.now() - start < budgetMs && times.length < 50)) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** 2,500 blocks of add, relu, add: 10,001 nodes, the same model as bench/torch_bench.py's. */
class Block extends Module<[Tensor], Tensor> {
  forward(x: Tensor): Tensor {
    return F.relu(x.add(1));
  }
}
class Synthetic extends Module<[Tensor], Tensor> {
  constructor(n = 2500) {
    super();
    for (let i = 0; i < n; i++) Object.defineProperty(this, `b${i}`, { value: new Block(), enumerable: true });
  }
  forward(x: Tensor): Tensor {
    for (const block of this.children()) x = (block as Block).call(x).add(x);
    return x;
  }
}

function modelFigures(): Record<string, number> {
  const out: Record<string, number> = {};
  const r50 = resnet50().eval();
  const full = createFeatureExtractor(r50, { returnNodes: ['fc'] });
  const extractors = {
    layer2: createFeatureExtractor(r50, { returnNodes: ['layer2'] }),
    layer4: createFeatureExtractor(r50, { returnNodes: ['layer4'] }),
  };
  const fullCompiled = compile(full);
  const compiledExtractors = Object.fromEntries(Object.entries(extractors).map(([k, e]) => [k, compile(e)]));
  for (const batch of [1, 8]) {
    const xb = randn([batch, 3, 224, 224]);
    out[`resnet50 full b${batch}`] = timeit(() => r50.call(xb), 3);
    out[`resnet50 full b${batch} compiled`] = timeit(() => fullCompiled.call(xb), 5);
    for (const [node, extractor] of Object.entries(extractors)) {
      out[`resnet50 -> ${node} b${batch}`] = timeit(() => extractor.call(xb), 3);
      out[`resnet50 -> ${node} b${batch} compiled`] = timeit(() => compiledExtractors[node]!.call(xb), 5);
    }
  }
  for (const compiled of [fullCompiled, ...Object.values(compiledExtractors)]) compiled.dispose();
  // Single ops after the models, in the order bench/torch_bench.py measures them.
  const x = randn([1, 64, 56, 56]);
  const w = randn([64, 64, 3, 3]);
  out['eager conv2d 3x3 64->64 56x56'] = timeit(() => F.conv2d(x, w, null, { padding: 1 }));
  const a = randn([64, 1024]);
  const lw = randn([1024, 1024]);
  out['eager linear 64x1024 @ 1024x1024'] = timeit(() => F.linear(a, lw));
  return out;
}

function tracingFigures(): Record<string, number> {
  const out: Record<string, number> = {};
  const r50 = resnet50().eval();
  out['getGraphNodeNames resnet50'] = timeit(() => getGraphNodeNames(r50, { suppressDiffWarning: true }), 3);
  out['createFeatureExtractor resnet50'] = timeit(() => createFeatureExtractor(r50, { returnNodes: ['layer3'] }), 3);
  const r152 = resnet152();
  out['createFeatureExtractor resnet152'] = timeit(() => createFeatureExtractor(r152, { returnNodes: ['layer3'] }), 3);
  const d201 = getModel('densenet201');
  out['createFeatureExtractor densenet201'] = timeit(
    () => createFeatureExtractor(d201, { returnNodes: ['features.denseblock3'] }),
    3,
  );
  const syn = new Synthetic();
  out['getGraphNodeNames synthetic 10k nodes'] = timeit(() => getGraphNodeNames(syn, { suppressDiffWarning: true }), 3);
  out['createFeatureExtractor synthetic 10k nodes'] = timeit(
    () => createFeatureExtractor(syn, { returnNodes: ['b1200'] }),
    3,
  );
  return out;
}

/** Medians of two functions timed in alternation, so that the machine's drift hits both alike. */
function timePair(a: () => unknown, b: () => unknown, minRuns: number, budgetMs: number): [number, number] {
  a();
  b();
  const times: [number[], number[]] = [[], []];
  const start = performance.now();
  while (times[0].length < minRuns || (performance.now() - start < budgetMs && times[0].length < 50)) {
    [a, b].forEach((fn, i) => {
      const t = performance.now();
      fn();
      times[i]!.push(performance.now() - t);
    });
  }
  const median = (list: number[]): number => list.sort((x, y) => x - y)[Math.floor(list.length / 2)]!;
  return [median(times[0]), median(times[1])];
}

/**
 * Compiled transformers at batch 1 and 8 (PyTorch runs them eagerly in torch_bench.py), each
 * timed in alternation with ONNX Runtime on torch.onnx's export of the same model when
 * torch_bench.py wrote one: the engine's own limit, with the options compile uses.
 */
function transformerFigures(exportDir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of TRANSFORMERS) {
    const compiled = compile(getModel(name).eval());
    const file = join(exportDir, `${name}.onnx`);
    const exported = existsSync(file)
      ? new NativeSession(readFileSync(file), { intraOpNumThreads: threads, graphOptimizationLevel: 'all' })
      : undefined;
    for (const batch of [1, 8]) {
      const xb = randn([batch, 3, 224, 224]);
      const runCompiled = (): unknown => compiled.call(xb);
      if (exported === undefined) {
        out[`${name} b${batch} compiled`] = timeit(runCompiled, 3, 4000);
        continue;
      }
      const runExported = (): unknown => exported.run([{ type: 'float32', dims: xb.shape, data: xb.data }]);
      [out[`${name} b${batch} compiled`], out[`${name} b${batch} torch.onnx export on ORT`]] = timePair(
        runCompiled,
        runExported,
        batch === 1 ? 10 : 5,
        batch === 1 ? 6000 : 15000,
      );
    }
    compiled.dispose();
    exported?.dispose();
  }
  return out;
}

/** Resident memory in MB. */
const rssMb = (): number => process.memoryUsage().rss / 2 ** 20;

/**
 * One compiled module fed batch 1 and 8 at two spatial sizes: how many sessions it builds, and
 * resident memory after the first call of each shape and after ten more rounds of all of them.
 */
function sessionFigures(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, sizes] of [
    ['resnet50', [224, 288]],
    ['vit_b_16', [224]],
  ] as const) {
    const compiled = compile(getModel(name).eval());
    const inputs = sizes.flatMap((s) => [1, 8].map((b) => randn([b, 3, s, s])));
    for (const x of inputs) compiled.call(x);
    const first = rssMb();
    for (let round = 0; round < 10; round++) for (const x of inputs) compiled.call(x);
    out[`${name} shapes served`] = inputs.length;
    out[`${name} sessions`] = compiled.sessionCount;
    out[`${name} RSS MB after first calls`] = first;
    out[`${name} RSS MB growth over 10 rounds`] = rssMb() - first;
    compiled.dispose();
  }
  return out;
}

/** The median time of backward alone: each forward runs outside the timed part. */
function timeBackward(model: Module<[Tensor], Tensor>, x: Tensor, runs = 3): number {
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const y = model.call(x).sum();
    const t = performance.now();
    y.backward();
    times.push(performance.now() - t);
    model.zeroGrad();
  }
  times.shift();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** As bench/torch_bench.py's: training steps, backward alone, Grad-CAM. */
function gradientFigures(): Record<string, number> {
  const out: Record<string, number> = {};
  const labels = arange(8);
  const x8 = randn([8, 3, 224, 224]);
  for (const name of ['resnet18', 'resnet50']) {
    const model = getModel(name).train();
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const step = compileTrainingStep(model, { loss: (y: Tensor, t: Tensor) => F.crossEntropy(y, t), optimizer });
    out[`${name} train step b8 compiled`] = timeit(() => step.call(x8, labels), 3, 3000);
    step.dispose();
    if (name === 'resnet18') {
      out[`${name} train step b8`] = timeit(
        () => {
          optimizer.zeroGrad();
          F.crossEntropy(model.call(x8) as Tensor, labels).backward();
          optimizer.step();
        },
        3,
        3000,
      );
    }
  }
  const r50 = resnet50().eval();
  const x1 = randn([1, 3, 224, 224]);
  out['resnet50 backward b1'] = timeBackward(r50, x1);
  out['resnet50 Grad-CAM layer4 b1'] = timeit(() => gradCam(r50, x1, { node: 'layer4' }), 3);
  const cams = compileGradCam(r50, { node: 'layer4' });
  out['resnet50 Grad-CAM layer4 b1 compiled'] = timeit(() => cams.call(x1), 5);
  cams.dispose();
  return out;
}

/**
 * maskrcnn_resnet50_fpn on one 800x1066 image (resized to 800x1066, padded to 800x1088), its
 * fixed-graph parts compiled (compileDetector: backbone + FPN, RPN head, box and mask heads) and
 * the data-dependent steps eager, whole and by stage as torch_bench.py times PyTorch's. The score
 * threshold is 0 in both, so that random weights give the 100 detections (and masks to paste)
 * that a busy photo would.
 */
function detectionFigures(): Record<string, number> {
  const out: Record<string, number> = {};
  const name = 'maskrcnn_resnet50_fpn 800x1066';
  const model = compileDetector(getModel('maskrcnn_resnet50_fpn', { boxScoreThresh: 0 }).eval() as MaskRCNN);
  const images = [rand([3, 800, 1066])];
  noGrad(() => {
    out[`${name} compiled`] = timeit(() => model.call(images), 3, 20000);
    const [imageList] = model.transform.call(images, null);
    const features = model.backbone.call(imageList.tensors) as Record<string, Tensor>;
    const [proposals] = model.rpn.call(imageList, features, null);
    const [detections] = model.roi_heads.call(features, proposals, imageList.imageSizes, null);
    const paste = (): Detection[] => model.transform.postprocess([...detections], imageList.imageSizes, [[800, 1066]]);
    out[`${name}: transform`] = timeit(() => model.transform.call(images, null), 3, 3000);
    out[`${name}: backbone+FPN compiled`] = timeit(() => model.backbone.call(imageList.tensors), 3, 10000);
    out[`${name}: RPN`] = timeit(() => model.rpn.call(imageList, features, null), 3, 5000);
    out[`${name}: RoI heads`] = timeit(
      () => model.roi_heads.call(features, proposals, imageList.imageSizes, null),
      3,
      10000,
    );
    out[`${name}: mask paste`] = timeit(paste, 3, 5000);
    out[`${name}: detections (count, not ms)`] = paste()[0]!.scores.shape[0]!;
  });
  return out;
}

function torchFigures(exportDir: string): Record<string, number> | undefined {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'torch_bench.py');
  // start times PyTorch's one-image job itself (bench/start.ts).
  const torchGroups = groups.filter((g) => g !== 'sessions' && g !== 'start');
  if (!existsSync('/usr/bin/python3') || torchGroups.length === 0) return undefined;
  try {
    return JSON.parse(
      execFileSync('/usr/bin/python3', [script, String(threads), torchGroups.join(','), exportDir], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        maxBuffer: 1 << 24,
      }),
    ) as Record<string, number>;
  } catch {
    return undefined;
  }
}

// PyTorch first: for the transformers it writes the torch.onnx exports featurefx is timed against.
const exportDir = mkdtempSync(join(tmpdir(), 'featurefx-bench-'));
const startTorch: Record<string, number> = {};
const theirs = torchFigures(exportDir);
const figures: Record<Exclude<Group, 'sessions'>, () => Record<string, number> | Promise<Record<string, number>>> = {
  models: modelFigures,
  tracing: tracingFigures,
  gradients: gradientFigures,
  transformers: () => transformerFigures(exportDir),
  detection: detectionFigures,
  'onnx-import': () => onnxImportFigures(exportDir, threads, timePair),
  start: async () => {
    const { featurefx, pytorch } = await startFigures(threads);
    Object.assign(startTorch, pytorch);
    return featurefx;
  },
};
const ours: Record<string, number> = {};
for (const g of groups) if (g !== 'sessions') Object.assign(ours, await figures[g]());
rmSync(exportDir, { recursive: true, force: true });
const sessions = groups.includes('sessions') ? sessionFigures() : {};
const rows = Object.entries(ours).map(([name, ms]) => {
  const baseName = name.replace(/ compiled$| torch\.onnx export on ORT$/, '');
  const torch = theirs?.[baseName] ?? startTorch[name];
  return { name, featurefxMs: ms, pytorchMs: torch ?? null, ratio: torch === undefined ? null : ms / torch };
});
const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `featurefx benchmark: ${cpu}, ${threads} thread(s)${theirs === undefined && Object.keys(startTorch).length === 0 ? '; no PyTorch figures (none of these groups has any, or PyTorch is not installed: apt-get install python3-torch python3-torchvision)' : ', PyTorch from /usr/bin/python3'}`,
);
console.log(
  `${'measurement'.padEnd(58)} ${'featurefx ms'.padStart(13)} ${'PyTorch ms'.padStart(11)} ${'ratio'.padStart(7)}`,
);
for (const r of rows) {
  const fmt = (v: number | null, d = 2): string => (v === null ? '-' : v.toFixed(d));
  console.log(
    `${r.name.padEnd(58)} ${fmt(r.featurefxMs).padStart(13)} ${fmt(r.pytorchMs).padStart(11)} ${fmt(r.ratio).padStart(7)}`,
  );
}
// Compiled featurefx against ONNX Runtime on torch.onnx's export: the engine's own limit.
const engineRatios = Object.fromEntries(
  rows
    .filter((r) => r.name.endsWith(' compiled') && ours[r.name.replace(/ compiled$/, ' torch.onnx export on ORT')])
    .map((r) => [r.name, r.featurefxMs / ours[r.name.replace(/ compiled$/, ' torch.onnx export on ORT')]!]),
);
for (const [name, ratio] of Object.entries(engineRatios)) {
  console.log(`${name} / torch.onnx export on ORT: ${ratio.toFixed(3)}`);
}
for (const [name, value] of Object.entries(sessions)) console.log(`${name}: ${value.toFixed(1)}`);
const jsonAt = process.argv.indexOf('--json');
if (jsonAt >= 0) {
  const file = process.argv[jsonAt + 1];
  if (file === undefined) throw new Error('--json needs a file name');
  writeFileSync(file, JSON.stringify({ machine: { cpu, threads }, rows, engineRatios, sessions }, null, 2));
  console.log(`wrote ${file}`);
}
