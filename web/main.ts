/**
 * The featurefx page: pick a model (the zoo through `featurefx serve`, or an ONNX file read in the
 * page), browse its nodes, and see the feature maps of the nodes you click for an image that never
 * leaves the browser. This file wires the page's parts together and keeps its state; the DOM it
 * drives is web/index.html (ids agreed in the page's contract, which the end-to-end test uses).
 */
import { extractorFile, npyFile, offerDownload } from './downloads.js';
import { Extractor } from './extract.js';
import type { FeatureMap } from './feature-grid.js';
import { GradCamSection } from './grad-cam-section.js';
import { decodeImage, drawPixels, type ModelInput, Preprocessor, type RgbImage } from './image-input.js';
import {
  fetchBytes,
  fixedInputSize,
  listServedModels,
  loadModelFile,
  loadZooModel,
  type LoadedModel,
  type ModelList,
  type Preset,
} from './model-source.js';
import { formatShape, NodeTree, type Resolved } from './node-tree.js';
import { createPanel, showPanelError, showPanelMap } from './panel.js';
import { readPresetForm, writePresetForm } from './preset-form.js';
import { enqueue, messageOf, Runtime } from './runtime.js';

/** What the page exposes for tests and curious users (`window.featurefxPage`). */
interface PageState {
  model?: string;
  backend: string;
  lastInput?: ModelInput['input'];
}

/** A clicked node: its panel, and its features once computed. */
interface Selected {
  resolved: Resolved;
  panel: HTMLElement;
  map?: FeatureMap;
}

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}: index.html and main.ts disagree`);
  return element as T;
}

const ui = {
  modelSelect: byId<HTMLSelectElement>('model-select'),
  onnxFile: byId<HTMLInputElement>('onnx-file'),
  status: byId('status'),
  error: byId('error'),
  backend: byId('backend'),
  modelInfo: byId('model-info'),
  searchForm: byId<HTMLFormElement>('search-form'),
  search: byId<HTMLInputElement>('node-search'),
  searchResult: byId('search-result'),
  tree: byId('node-tree'),
  imageFile: byId<HTMLInputElement>('image-file'),
  preview: byId<HTMLCanvasElement>('image-preview'),
  presetForm: byId<HTMLFormElement>('preprocess-form'),
  selectionSummary: byId('selection-summary'),
  downloadOnnx: byId<HTMLAnchorElement>('download-onnx'),
  downloadNpy: byId<HTMLAnchorElement>('download-npy'),
  panels: byId('panels'),
  dropHint: byId('drop-hint'),
};

const page: PageState = { backend: '' };
(window as unknown as { featurefxPage: PageState }).featurefxPage = page;

let runtime: Runtime;
let preprocessor: Preprocessor;
let gradCam: GradCamSection;
let model: LoadedModel | undefined;
let tree: NodeTree | undefined;
let extractor: Extractor | undefined;
let preset: Preset | undefined;
let image: RgbImage | undefined;
let input: ModelInput | undefined;
let selection: Selected[] = [];
/** The model picked last: a slower load of an earlier pick must not replace it. */
let loadCount = 0;
/** The file the user opened last, to load it again from the model list. */
let openedFile: { name: string; bytes: Uint8Array } | undefined;

function setStatus(text: string): void {
  ui.status.textContent = text;
}

function showError(error: unknown): void {
  ui.error.textContent = messageOf(error);
  ui.error.hidden = false;
  setStatus('ready');
}

function clearError(): void {
  ui.error.textContent = '';
  ui.error.hidden = true;
}

function showBackend(): void {
  ui.backend.textContent = runtime.backend;
  page.backend = runtime.backend;
}

// ---- models ----

function fillModelSelect(list: ModelList | undefined): void {
  const placeholder = new Option(list ? 'pick a model…' : 'open an .onnx file →', '');
  placeholder.disabled = true;
  ui.modelSelect.replaceChildren(placeholder);
  if (list === undefined) {
    const note = document.createElement('p');
    note.className = 'hint';
    note.textContent =
      'This page is hosted without featurefx serve, so the zoo is not offered: open or drop an .onnx file ' +
      '(it is read in this page). `npx featurefx serve` serves the zoo models too.';
    ui.modelInfo.replaceChildren(note);
    return;
  }
  const zoo = document.createElement('optgroup');
  zoo.label = 'featurefx zoo (exported by the server)';
  zoo.append(...list.zoo.map((m) => new Option(`${m.name}${m.weights === 'random' ? '' : ' ✓ weights'}`, m.name)));
  ui.modelSelect.append(zoo);
  if (list.files.length > 0) {
    const files = document.createElement('optgroup');
    files.label = 'files given to featurefx serve';
    files.append(...list.files.map((f) => new Option(f.name, f.url)));
    ui.modelSelect.append(files);
  }
  ui.modelSelect.value = '';
}

/** Loads a model unless it is the one already loaded or loading; the latest pick wins. */
async function loadModel(key: string, what: string, load: () => Promise<LoadedModel>): Promise<void> {
  if (ui.modelSelect.dataset['loaded'] === key) return;
  ui.modelSelect.dataset['loaded'] = key;
  const count = ++loadCount;
  clearError();
  setStatus(what);
  try {
    const loaded = await load();
    if (count !== loadCount) return;
    await useModel(loaded);
    if (count === loadCount) setStatus('ready');
  } catch (error) {
    if (count !== loadCount) return;
    // The previous model stays on the page, and the list shows it again.
    ui.modelSelect.dataset['loaded'] = model === undefined ? '' : currentKey;
    ui.modelSelect.value = model === undefined ? '' : currentKey;
    showError(error);
  }
}

/** The list's value for the model on the page. */
let currentKey = '';

async function useModel(loaded: LoadedModel): Promise<void> {
  extractor?.dispose();
  for (const { panel } of selection) panel.remove();
  selection = [];
  model = loaded;
  currentKey = ui.modelSelect.dataset['loaded'] ?? '';
  page.model = loaded.name;
  extractor = new Extractor(runtime, loaded);
  tree = new NodeTree(ui.tree, loaded.nodes, loaded.name, (resolved) => void toggleNode(resolved));
  ui.search.value = '';
  ui.searchResult.textContent = '';
  ui.modelInfo.replaceChildren(
    infoLine('model', loaded.name),
    infoLine('weights', loaded.weights),
    infoLine('input', `${loaded.input.name} ${formatShape(loaded.input.shape)}`),
    infoLine('nodes', String(loaded.nodes.length)),
  );
  preset = loaded.preset;
  writePresetForm(ui.presetForm, preset, fixedInputSize(loaded));
  gradCam.setModel(loaded, tree);
  updateDownloads();
  if (image !== undefined) await enqueue(() => prepareInput());
}

function infoLine(label: string, value: string): HTMLElement {
  const line = document.createElement('div');
  const key = document.createElement('span');
  key.className = 'info-key';
  key.textContent = label;
  const text = document.createElement('span');
  text.textContent = value;
  line.append(key, text);
  return line;
}

ui.modelSelect.addEventListener('change', () => {
  const value = ui.modelSelect.value;
  const label = ui.modelSelect.selectedOptions[0]?.textContent ?? value;
  if (value.startsWith('api/files/')) {
    void loadModel(value, `reading ${label}…`, async () => loadModelFile(label, await fetchBytes(value)));
  } else if (value === 'opened' && openedFile !== undefined) {
    const { name, bytes } = openedFile;
    void loadModel('opened', `reading ${name}…`, () => Promise.resolve(loadModelFile(name, bytes)));
  } else if (value !== '') {
    const zoo = served?.zoo.find((m) => m.name === value);
    if (zoo !== undefined) void loadModel(value, `exporting ${value} on the server…`, () => loadZooModel(zoo));
  }
});

/** Reads a picked or dropped .onnx file in the page (it is not sent anywhere). */
async function openModelFile(file: File): Promise<void> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  // Another file (or the same one again) replaces the opened one.
  ui.modelSelect.dataset['loaded'] = '';
  await loadModel('opened', `reading ${file.name}…`, () => {
    const loaded = loadModelFile(file.name, bytes);
    openedFile = { name: file.name, bytes };
    let option = ui.modelSelect.querySelector<HTMLOptionElement>('option[value="opened"]');
    if (option === null) ui.modelSelect.append((option = new Option('', 'opened')));
    option.textContent = `${file.name} (your file)`;
    ui.modelSelect.value = 'opened';
    return Promise.resolve(loaded);
  });
}

ui.onnxFile.addEventListener('change', () => {
  const file = ui.onnxFile.files?.[0];
  ui.onnxFile.value = '';
  if (file !== undefined) void openModelFile(file);
});

// ---- image ----

/** Preprocesses the image for the model on the page and draws the preview. */
async function prepareInput(): Promise<void> {
  if (image === undefined || preset === undefined) return;
  input = await preprocessor.run(preset, image);
  page.lastInput = input.input;
  gradCam.clearResult();
  drawPixels(ui.preview, input.pixels, input.size);
  ui.preview.title = `${image.name} (${image.width}×${image.height}) as the model sees it: ${input.size}×${input.size}`;
}

async function useImage(name: string, blob: Blob): Promise<void> {
  clearError();
  setStatus(`reading ${name}…`);
  try {
    image = await decodeImage(name, blob);
    await enqueue(() => prepareInput());
    await recomputeAll();
    setStatus('ready');
  } catch (error) {
    showError(error);
  }
}

ui.imageFile.addEventListener('change', () => {
  const file = ui.imageFile.files?.[0];
  ui.imageFile.value = '';
  if (file !== undefined) void useImage(file.name, file);
});

ui.presetForm.addEventListener('submit', (event) => {
  event.preventDefault();
  clearError();
  try {
    preset = readPresetForm(ui.presetForm);
  } catch (error) {
    showError(error);
    return;
  }
  void enqueue(() => prepareInput())
    .then(() => recomputeAll())
    .catch(showError);
});

// ---- nodes and panels ----

ui.searchForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const query = ui.search.value.trim();
  if (tree === undefined || query === '') {
    ui.searchResult.textContent = tree === undefined ? 'Load a model first.' : '';
    return;
  }
  try {
    const found = tree.search(query);
    ui.searchResult.textContent = `${query} → ${found.node.name}`;
    ui.searchResult.classList.remove('not-found');
  } catch (error) {
    ui.searchResult.textContent = messageOf(error);
    ui.searchResult.classList.add('not-found');
  }
});

/** Clicking a node selects it (a new panel, computed now) or, if selected, removes it. */
async function toggleNode(resolved: Resolved): Promise<void> {
  const clickedAt = performance.now();
  const existing = selection.find((s) => s.resolved.query === resolved.query);
  if (existing !== undefined) {
    existing.panel.remove();
    selection = selection.filter((s) => s !== existing);
    tree?.setSelected(resolved.query, false);
    updateDownloads();
    return;
  }
  const selected: Selected = { resolved, panel: createPanel(resolved, () => void toggleNode(resolved)) };
  selection.push(selected);
  tree?.setSelected(resolved.query, true);
  ui.panels.append(selected.panel);
  updateDownloads();
  await compute([selected], clickedAt);
}

/** Computes the nodes in one run and draws each in its panel; an error goes in the panels. */
async function compute(nodes: readonly Selected[], startedAt: number): Promise<void> {
  if (extractor === undefined || nodes.length === 0) return;
  const running = extractor;
  for (const { panel } of nodes) delete panel.dataset['ready'];
  setStatus(`computing ${nodes.map((n) => n.resolved.query).join(', ')}…`);
  try {
    const computed = await enqueue(async () => {
      // A model picked since the click released this one's sessions: running it would make new ones
      // that nothing releases.
      if (running !== extractor) return undefined;
      if (input === undefined) throw new Error('no image yet: open one (or wait for the sample to load)');
      const waitMs = Math.round(performance.now() - startedAt);
      return {
        ...(await running.run(
          nodes.map((n) => n.resolved),
          input,
        )),
        waitMs,
      };
    });
    if (computed === undefined || running !== extractor) return;
    await Promise.all(
      nodes.map(async (selected) => {
        if (!selection.includes(selected)) return;
        const map = computed.maps.get(selected.resolved.node.name)!;
        selected.map = map;
        tree?.setShape(selected.resolved.node, map.dims);
        await showPanelMap(selected.panel, map, startedAt, computed);
      }),
    );
    updateDownloads();
    setStatus('ready');
    showBackend();
  } catch (error) {
    // The panels of a model no longer on the page are gone, and the status is the new model's.
    if (running !== extractor) return;
    for (const { panel } of nodes) showPanelError(panel, messageOf(error));
    setStatus('ready');
    showBackend();
  }
}

/** After a new image or preprocessing: every selected node again, in one run. */
async function recomputeAll(): Promise<void> {
  await compute(selection, performance.now());
}

function updateDownloads(): void {
  const current = model;
  const nodes = selection.map((s) => s.resolved.node);
  ui.selectionSummary.textContent =
    nodes.length === 0
      ? 'Click nodes in the tree to see their feature maps.'
      : `${nodes.length} node${nodes.length === 1 ? '' : 's'} selected`;
  offerDownload(ui.downloadOnnx, current && nodes.length > 0 ? () => extractorFile(current, nodes) : undefined);
  const first = selection[0]?.map;
  offerDownload(ui.downloadNpy, first ? () => npyFile(first) : undefined);
}

// ---- Grad-CAM ----

byId<HTMLButtonElement>('gradcam-run').addEventListener('click', () => {
  clearError();
  setStatus('running Grad-CAM…');
  void enqueue(async () => {
    if (input === undefined) throw new Error('no image yet: open one (or wait for the sample to load)');
    return gradCam.run(input);
  })
    .then(() => {
      setStatus('ready');
      showBackend();
    })
    .catch(showError);
});

// ---- drag and drop ----

document.addEventListener('dragover', (event) => {
  event.preventDefault();
  ui.dropHint.hidden = false;
});
document.addEventListener('dragleave', (event) => {
  if (event.relatedTarget === null) ui.dropHint.hidden = true;
});
document.addEventListener('drop', (event) => {
  event.preventDefault();
  ui.dropHint.hidden = true;
  const file = event.dataTransfer?.files[0];
  if (file === undefined) return;
  if (/\.onnx$/i.test(file.name)) void openModelFile(file);
  else if (file.type.startsWith('image/')) void useImage(file.name, file);
  else showError(`${file.name} is neither an .onnx model nor an image: drop one of those`);
});

ui.error.addEventListener('click', clearError);

// ---- start ----

let served: ModelList | undefined;

async function start(): Promise<void> {
  runtime = await Runtime.start();
  showBackend();
  preprocessor = new Preprocessor(runtime);
  gradCam = new GradCamSection(runtime, {
    section: byId('gradcam'),
    note: byId('gradcam-note'),
    node: byId<HTMLSelectElement>('gradcam-node'),
    target: byId<HTMLInputElement>('gradcam-class'),
    run: byId<HTMLButtonElement>('gradcam-run'),
    canvas: byId<HTMLCanvasElement>('gradcam-canvas'),
    result: byId('gradcam-result'),
  });
  served = await listServedModels();
  fillModelSelect(served);
  await useImage('sample.png', await (await fetch('sample.png')).blob());
  // resnet18 to start with, when the zoo is served: small, and the model the docs use.
  if (served?.zoo.some((m) => m.name === 'resnet18') && ui.modelSelect.dataset['loaded'] === undefined) {
    ui.modelSelect.value = 'resnet18';
    ui.modelSelect.dispatchEvent(new Event('change'));
  } else if (model === undefined) {
    setStatus(served === undefined ? 'static page: open an .onnx file' : 'pick a model');
  }
}

start().catch(showError);
