/**
 * `npm run bench -- --only onnx-import`: a ~100 MB ONNX file (resnet50; torch.onnx's export, which
 * bench/torch_bench.py writes when Debian's torch is installed, else featurefx's exportOnnx) read
 * and listed by name, and a pruned `layer2` extraction from it timed against ONNX Runtime on the
 * whole file, with the share of the multiply-adds and weights that the pruned model keeps: the
 * pruned one should cost in proportion to what it keeps.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { exportOnnx, randn, resnet50 } from '../src/index.js';
import type { ModelProto, NodeProto } from '../src/onnx/model-proto.js';
import { nameOnnxNodes } from '../src/onnx/node-names.js';
import { OnnxModel } from '../src/onnx/onnx-model.js';
import { pruneModel } from '../src/onnx/prune.js';
import { NativeSession } from '../src/runtime/native-session.js';

type TimePair = (a: () => unknown, b: () => unknown, minRuns: number, budgetMs: number) => [number, number];

/** The file torch_bench.py exported, or featurefx's export of the same architecture. */
function resnet50File(exportDir: string): { path: string; exporter: string } {
  const path = join(exportDir, 'resnet50.onnx');
  if (existsSync(path)) return { path, exporter: 'torch.onnx' };
  exportOnnx(resnet50().eval(), { inputShape: [1, 3, 224, 224], path });
  return { path, exporter: 'featurefx' };
}

/** Median of `runs` awaited calls. */
async function medianAsync(fn: () => Promise<unknown>, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

function ints(node: NodeProto, name: string): number[] {
  return node.attribute.find((a) => a.name === name)?.ints ?? [];
}

/**
 * Multiply-adds of a CNN's Conv and Gemm nodes at a square input `size`, from its weights' dims and
 * the spatial sizes that Conv and MaxPool make (other ops keep their first input's size; global
 * pooling gives 1): enough for ResNet's ops, which is what this benchmark reads.
 */
function multiplyAdds(model: ModelProto, size: number): number {
  const graph = model.graph!;
  const dims = new Map(graph.initializer.map((t) => [t.name ?? '', t.dims]));
  const spatial = new Map<string, number>(graph.input.map((v) => [v.name ?? '', size]));
  let total = 0;
  for (const node of graph.node) {
    let out = spatial.get(node.input[0] ?? '') ?? 1;
    if (node.opType === 'Conv' || node.opType === 'MaxPool') {
      const kernel = ints(node, 'kernel_shape')[0] ?? 1;
      const stride = ints(node, 'strides')[0] ?? 1;
      const pads = ints(node, 'pads');
      out = Math.floor((out + (pads[0] ?? 0) + (pads[2] ?? 0) - kernel) / stride) + 1;
    }
    if (node.opType === 'GlobalAveragePool') out = 1;
    const weight = dims.get(node.input[1] ?? '');
    if (node.opType === 'Conv' && weight !== undefined) total += weight.reduce((a, b) => a * b, 1) * out * out;
    if (node.opType === 'Gemm' && weight !== undefined) total += weight.reduce((a, b) => a * b, 1);
    for (const o of node.output) spatial.set(o, out);
  }
  return total;
}

const weightBytes = (model: ModelProto): number =>
  model.graph!.initializer.reduce((sum, t) => sum + (t.rawData?.length ?? 0), 0);

export async function onnxImportFigures(
  exportDir: string,
  threads: number,
  timePair: TimePair,
): Promise<Record<string, number>> {
  const { path, exporter } = resnet50File(exportDir);
  const label = 'resnet50.onnx';
  const out: Record<string, number> = {};
  out[`${label} by ${exporter}: size (MB, not ms)`] = statSync(path).size / 2 ** 20;
  out[`${label}: read and decode`] = await medianAsync(() => OnnxModel.load(path), 5);
  const model = await OnnxModel.load(path);
  out[`${label}: list node names`] = await medianAsync(async () => nameOnnxNodes(model.proto), 5);
  const x = randn([1, 3, 224, 224]);
  let t = performance.now();
  model.run(x, ['layer2']);
  out[`${label}: first layer2 call (prune, encode, session)`] = performance.now() - t;
  t = performance.now();
  const whole = new NativeSession(readFileSync(path), { intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
  out[`${label}: whole-file session on ORT`] = performance.now() - t;
  const feeds = [{ type: 'float32' as const, dims: x.shape, data: x.data }];
  [out[`${label}: layer2 b1 pruned`], out[`${label}: whole file b1 on ORT`]] = timePair(
    () => model.run(x, ['layer2']),
    () => whole.run(feeds),
    10,
    8000,
  );
  whole.dispose();
  const pruned = pruneModel(model.proto, [...model.featureExtractor(['layer2']).outputs.values()]);
  out[`${label}: layer2 time / whole time (%, not ms)`] =
    (100 * out[`${label}: layer2 b1 pruned`]!) / out[`${label}: whole file b1 on ORT`]!;
  out[`${label}: layer2 keeps multiply-adds (%, not ms)`] =
    (100 * multiplyAdds(pruned, 224)) / multiplyAdds(model.proto, 224);
  out[`${label}: layer2 keeps weights (%, not ms)`] = (100 * weightBytes(pruned)) / weightBytes(model.proto);
  model.dispose();
  return out;
}
