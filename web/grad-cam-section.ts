/**
 * The Grad-CAM section: for a zoo model, the server exports featurefx's Grad-CAM graph for a node
 * (`api/zoo/<name>/gradcam.onnx?node=<node>`: forward, the class score's gradient and the map in one
 * ONNX model), the page runs it on the image and VIEW's `renderGradCam` draws the map over it. ONNX
 * files have no Grad-CAM: featurefx makes the gradient graph from a model's code, which a file lacks.
 */
import { renderGradCam } from './grad-cam-view.js';
import type { ModelInput } from './image-input.js';
import { fetchBytes, type LoadedModel } from './model-source.js';
import type { NodeTree } from './node-tree.js';
import { OrtTensor, type Runtime, SessionCache } from './runtime.js';

export class GradCamSection {
  private readonly sessions = new SessionCache(2);
  private model: LoadedModel | undefined;

  constructor(
    private readonly runtime: Runtime,
    private readonly elements: {
      section: HTMLElement;
      note: HTMLElement;
      node: HTMLSelectElement;
      target: HTMLInputElement;
      run: HTMLButtonElement;
      canvas: HTMLCanvasElement;
      result: HTMLElement;
    },
  ) {}

  /** Offers the model's modules as Grad-CAM nodes (default: the last one with a 4-D output), or says why not. */
  setModel(model: LoadedModel, tree: NodeTree): void {
    this.sessions.clear();
    this.model = model;
    this.clearResult();
    const { section, note, node, target, run } = this.elements;
    const available = model.zoo !== undefined;
    section.classList.toggle('unavailable', !available);
    for (const control of [node, target, run]) control.disabled = !available;
    note.textContent = available
      ? 'Where the model looks for a class: the class score\u2019s gradient at a node, weighting its channels.'
      : 'Grad-CAM needs a zoo model: featurefx builds the gradient graph from the model\u2019s code, which an ' +
        'ONNX file does not carry.';
    const modules = available ? tree.modules() : [];
    node.replaceChildren(...modules.map((m) => new Option(m.query, m.query)));
    const topLevel = modules.filter((m) => !m.query.includes('.'));
    const is4d = (m: (typeof modules)[number]) => tree.shapeOf(m.node)?.length === 4;
    // torchvision's usual Grad-CAM layer: the last block of features (resnet's layer4, vgg's features).
    const preferred = topLevel.filter(is4d).at(-1) ?? topLevel.at(-1);
    if (preferred !== undefined) node.value = preferred.query;
  }

  /** Clears the map and the classes (they were for another model or image). */
  clearResult(): void {
    const { canvas, result } = this.elements;
    result.textContent = '';
    canvas.getContext('2d')!.clearRect(0, 0, canvas.width, canvas.height);
  }

  /** Runs Grad-CAM for the chosen node and class on the image; returns the result line ('' when the model changed). */
  async run(input: ModelInput): Promise<string> {
    const model = this.model;
    if (model?.zoo === undefined) throw new Error('Grad-CAM needs a zoo model');
    const { node, target, canvas, result } = this.elements;
    const chosen = node.value;
    const asked = target.value.trim();
    if (asked !== '' && !/^\d+$/.test(asked)) {
      throw new RangeError(`class must be a class index (0, 1, 2, ...) or empty for the top class, got '${asked}'`);
    }
    // The model's output (its last node) is [N, classes].
    const classes = model.nodes.at(-1)?.shape?.[1];
    if (asked !== '' && typeof classes === 'number' && Number(asked) >= classes) {
      throw new RangeError(`class ${asked} is out of range: ${model.name} has ${classes} classes (0-${classes - 1})`);
    }
    const url = `api/zoo/${encodeURIComponent(model.zoo.name)}/gradcam.onnx?node=${encodeURIComponent(chosen)}`;
    const session = await this.sessions.get(chosen, async () => this.runtime.createSession(await fetchBytes(url)));
    const out = await session.run({
      x: new OrtTensor('float32', input.input.data, input.input.dims),
      target: new OrtTensor('int64', BigInt64Array.of(asked === '' ? -1n : BigInt(asked)), [1]),
    });
    // Another model was picked during the run: the result is not for the model on the page.
    if (this.model !== model) return '';
    const logits = out['logits']!.data as Float32Array;
    const classIndex = Number((out['target_class']!.data as BigInt64Array)[0]);
    renderGradCam(canvas, input.pixels, out['cam']!.data as Float32Array, input.size);
    const top5 = [...logits.keys()].sort((a, b) => logits[b]! - logits[a]!).slice(0, 5);
    const line =
      `class ${classIndex} · score ${logits[classIndex]!.toFixed(1)} · top-5: ` +
      top5.map((c) => `${c} (${logits[c]!.toFixed(1)})`).join(', ');
    result.textContent = line;
    return line;
  }
}
