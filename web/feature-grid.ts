/**
 * A node's output drawn in its panel: the channel picker and colour map, a table of statistics, and
 * the grid of channels, one canvas per channel at the map's own resolution (CSS scales it up,
 * pixelated), each exactly featureMapPixels of src/explain/. Hovering a channel shows it enlarged
 * with its statistics. Outputs that are not maps ([N, C] logits, [N, C, 1, 1] pooled features,
 * [N, L, D] tokens) draw as one strip. Changing a control re-draws from the kept data; the model
 * does not run again.
 */
import { COLORMAP_NAMES, COLORMAPS, type ColormapName } from '../src/explain/colormaps.js';
import { channelStats, type ChannelStats, featureMapPixels } from '../src/explain/feature-map-pixels.js';
import { defaultChannels, parseChannels } from './grid-channels.js';

/** A computed node output, as panels draw it and .npy files store it. */
export interface FeatureMap {
  node: string;
  dims: readonly number[];
  data: Float32Array;
}

/** The controls' choices of a panel, kept when the panel is drawn again (a new image). */
interface Choices {
  channels?: string;
  colormap: ColormapName;
}

/** How one image's values are laid out: channels of H x W maps, or one strip of rows x cols. */
type Layout =
  { kind: 'maps'; channels: number; height: number; width: number } | { kind: 'strip'; rows: number; cols: number };

const choicesOf = new WeakMap<HTMLElement, Choices>();

/** Fills `panel` with the controls, statistics and grid of `map` (image 0 of its batch). */
export function renderFeaturePanel(panel: HTMLElement, map: FeatureMap): void {
  const choices = choicesOf.get(panel) ?? { colormap: 'viridis' };
  choicesOf.set(panel, choices);
  // A grid replaced under the pointer (a new image) gets no pointerleave: its enlarged view goes now.
  zoomBox().box.hidden = true;
  const layout = layoutOf(map.dims);
  const perImage = layout.kind === 'maps' ? layout.channels * layout.height * layout.width : layout.rows * layout.cols;
  if (perImage === 0 || map.data.length < perImage) {
    panel.replaceChildren(element('p', 'feature-empty', `nothing to draw: the output is [${map.dims.join(', ')}]`));
    return;
  }
  const stats = new StatsCache(map.data, layout);

  const controls = element('div', 'feature-controls');
  const colormap = element('select', 'colormap');
  colormap.setAttribute('aria-label', 'colour map');
  for (const name of COLORMAP_NAMES) colormap.append(new Option(name, name, false, name === choices.colormap));
  const colorbar = element('canvas', 'colorbar');
  const message = element('span', 'channels-error');
  message.setAttribute('role', 'alert');
  const grid = element('div', layout.kind === 'maps' ? 'feature-grid' : 'feature-strip');
  const table = element('table', 'stats');
  const batch = map.dims.length > 1 && map.dims[0]! > 1 ? ` · image 1 of ${map.dims[0]}` : '';

  let channelsInput: HTMLInputElement | undefined;
  const shownLabel = element('span', 'feature-shown');
  if (layout.kind === 'maps') {
    channelsInput = element('input', 'channels');
    channelsInput.type = 'text';
    channelsInput.spellcheck = false;
    channelsInput.setAttribute('aria-label', 'channels to show, e.g. 0-63 or 0-15,100-103');
    channelsInput.value = keptChannels(choices.channels, layout.channels);
    const label = element('label', 'field');
    label.append(element('span', '', 'channels'), channelsInput);
    controls.append(label);
  }
  const colormapLabel = element('label', 'field');
  colormapLabel.append(element('span', '', 'colour map'), colormap, colorbar);
  controls.append(colormapLabel, shownLabel, message);

  const draw = (): void => {
    choices.colormap = colormap.value as ColormapName;
    drawColorbar(colorbar, choices.colormap);
    if (layout.kind === 'strip') {
      const values = layout.rows === 1 ? `${layout.cols}` : `${layout.rows} x ${layout.cols}`;
      shownLabel.textContent = `${values} values${batch}`;
      drawStrip(grid, map, layout, choices.colormap);
      fillStats(table, stats, []);
      return;
    }
    let channels: number[];
    try {
      channels = parseChannels(channelsInput!.value, layout.channels);
    } catch (error) {
      message.textContent = error instanceof Error ? error.message : String(error);
      channelsInput!.setAttribute('aria-invalid', 'true');
      return; // the grid keeps the last good choice
    }
    message.textContent = '';
    channelsInput!.removeAttribute('aria-invalid');
    choices.channels = channelsInput!.value;
    shownLabel.textContent = `${channels.length} of ${layout.channels} channels · ${layout.height} x ${layout.width}${batch}`;
    drawMaps(grid, map.data, layout, channels, choices.colormap);
    fillStats(table, stats, channels);
  };
  colormap.addEventListener('change', draw);
  channelsInput?.addEventListener('change', draw);

  const statsBox = element('div', 'feature-stats');
  statsBox.append(table);
  const body = element('div', 'feature-body');
  body.append(grid, statsBox);
  panel.replaceChildren(controls, body);
  attachZoom(grid, map, layout, stats, () => choices.colormap, statsBox);
  draw();
}

/** The channels chosen for an earlier output, if they fit this one; otherwise the default. */
function keptChannels(kept: string | undefined, count: number): string {
  if (kept === undefined) return defaultChannels(count);
  try {
    parseChannels(kept, count);
    return kept;
  } catch {
    return defaultChannels(count);
  }
}

function layoutOf(dims: readonly number[]): Layout {
  if (dims.length === 4 && dims[2]! * dims[3]! > 1)
    return { kind: 'maps', channels: dims[1]!, height: dims[2]!, width: dims[3]! };
  // Image 0's values: a row per index of the middle dimensions, the last dimension across; trailing
  // sizes of 1 dropped, so that pooled features [N, C, 1, 1] lie across like logits [N, C].
  const inner = dims.length > 1 ? dims.slice(1) : [...dims];
  while (inner.length > 1 && inner.at(-1) === 1) inner.pop();
  const cols = inner.at(-1) ?? 1;
  return { kind: 'strip', rows: inner.slice(0, -1).reduce((a, b) => a * b, 1), cols };
}

/** Min, max, mean and std of each channel (computed when first asked for) and of the whole tensor. */
class StatsCache {
  private readonly channels = new Map<number, ChannelStats>();
  readonly whole: ChannelStats;

  constructor(
    private readonly data: Float32Array,
    private readonly layout: Layout,
  ) {
    this.whole = channelStats(data, 0, data.length);
  }

  channel(c: number): ChannelStats {
    if (this.layout.kind !== 'maps') return this.whole;
    let stats = this.channels.get(c);
    if (stats === undefined) {
      const size = this.layout.height * this.layout.width;
      stats = channelStats(this.data, c * size, size);
      this.channels.set(c, stats);
    }
    return stats;
  }
}

function drawMaps(
  grid: HTMLElement,
  data: Float32Array,
  layout: Layout & { kind: 'maps' },
  channels: readonly number[],
  colormap: ColormapName,
): void {
  const { height, width } = layout;
  const tiles = document.createDocumentFragment();
  for (const c of channels) {
    const canvas = element('canvas');
    canvas.width = width;
    canvas.height = height;
    canvas.dataset['channel'] = String(c);
    putPixels(canvas, featureMapPixels(data, c * height * width, height, width, colormap));
    const tile = element('figure', 'feature-tile');
    tile.append(canvas, element('figcaption', '', String(c)));
    tiles.append(tile);
  }
  grid.replaceChildren(tiles);
}

function drawStrip(
  grid: HTMLElement,
  map: FeatureMap,
  layout: Layout & { kind: 'strip' },
  colormap: ColormapName,
): void {
  const canvas = element('canvas');
  canvas.width = layout.cols;
  canvas.height = layout.rows;
  canvas.dataset['channel'] = 'all';
  canvas.classList.toggle('one-row', layout.rows === 1);
  putPixels(canvas, featureMapPixels(map.data, 0, layout.rows, layout.cols, colormap));
  grid.replaceChildren(canvas);
}

function putPixels(canvas: HTMLCanvasElement, pixels: Uint8ClampedArray<ArrayBuffer>): void {
  canvas.getContext('2d')!.putImageData(new ImageData(pixels, canvas.width, canvas.height), 0, 0);
}

function drawColorbar(canvas: HTMLCanvasElement, colormap: ColormapName): void {
  canvas.width = 256;
  canvas.height = 1;
  const table = COLORMAPS[colormap];
  const pixels = new Uint8ClampedArray(256 * 4);
  for (let level = 0; level < 256; level++) {
    pixels.set(table.subarray(level * 3, level * 3 + 3), level * 4);
    pixels[level * 4 + 3] = 255;
  }
  putPixels(canvas, pixels);
  canvas.title = `${colormap}: each channel's min (left) to max (right)`;
}

function fillStats(table: HTMLTableElement, stats: StatsCache, channels: readonly number[]): void {
  const head = element('thead');
  head.append(row('th', ['', 'min', 'max', 'mean', 'std']));
  const body = element('tbody');
  const whole = row('td', ['all', ...numbers(stats.whole)]);
  whole.className = 'stats-all';
  whole.title = 'the whole output (every channel and image)';
  body.append(whole);
  for (const c of channels) {
    const line = row('td', [String(c), ...numbers(stats.channel(c))]);
    line.dataset['channel'] = String(c);
    body.append(line);
  }
  table.replaceChildren(head, body);
}

function numbers(stats: ChannelStats): string[] {
  return [stats.min, stats.max, stats.mean, stats.std].map(formatNumber);
}

function row(cell: 'td' | 'th', texts: readonly string[]): HTMLTableRowElement {
  const tr = element('tr');
  for (const text of texts) tr.append(element(cell, '', text));
  return tr;
}

/** Four significant digits, exponent notation for the very large and the very small. */
function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  const size = Math.abs(v);
  if (size !== 0 && (size >= 1e5 || size < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

/**
 * The enlarged view under the pointer: one floating box for the whole page (a channel at up to
 * 256 px with its statistics; for a strip, the value under the pointer and its index).
 */
function attachZoom(
  grid: HTMLElement,
  map: FeatureMap,
  layout: Layout,
  stats: StatsCache,
  colormap: () => ColormapName,
  statsBox: HTMLElement,
): void {
  const zoom = zoomBox();
  let shown: HTMLCanvasElement | undefined;
  /** The stats row of the channel under the pointer, marked and scrolled to. */
  const markRow = (c?: number): void => {
    statsBox.querySelector('tr.hover')?.classList.remove('hover');
    const line = c === undefined ? null : statsBox.querySelector<HTMLElement>(`tr[data-channel="${c}"]`);
    if (line === null) return;
    line.classList.add('hover');
    statsBox.scrollTop = line.offsetTop - statsBox.clientHeight / 2;
  };
  grid.addEventListener('pointermove', (event) => {
    const target = event.target;
    if (!(target instanceof HTMLCanvasElement) || target.dataset['channel'] === undefined) return hide();
    if (layout.kind === 'maps') {
      if (shown !== target) {
        shown = target;
        const c = Number(target.dataset['channel']);
        zoom.canvas.hidden = false;
        zoom.canvas.width = layout.width;
        zoom.canvas.height = layout.height;
        const { height, width } = layout;
        putPixels(zoom.canvas, featureMapPixels(map.data, c * height * width, height, width, colormap()));
        const scale = 256 / Math.max(height, width);
        zoom.canvas.style.width = `${Math.round(width * scale)}px`;
        zoom.canvas.style.height = `${Math.round(height * scale)}px`;
        markRow(c);
        const s = stats.channel(c);
        zoom.caption.textContent =
          `${map.node} · channel ${c}\nmin ${formatNumber(s.min)} · max ${formatNumber(s.max)} · ` +
          `mean ${formatNumber(s.mean)} · std ${formatNumber(s.std)}`;
      }
    } else {
      shown = undefined;
      zoom.canvas.hidden = true;
      const box = target.getBoundingClientRect();
      const col = Math.min(layout.cols - 1, Math.floor(((event.clientX - box.left) / box.width) * layout.cols));
      const r = Math.min(layout.rows - 1, Math.floor(((event.clientY - box.top) / box.height) * layout.rows));
      const flat = r * layout.cols + col;
      zoom.caption.textContent = `${map.node}[${indexOf(flat, map.dims).join(', ')}] = ${formatNumber(map.data[flat]!)}`;
    }
    place(zoom.box, event.clientX, event.clientY);
  });
  grid.addEventListener('pointerleave', hide);
  function hide(): void {
    markRow();
    shown = undefined;
    zoom.box.hidden = true;
  }
}

/** The index in a tensor of `dims` of image 0's `flat`-th value. */
function indexOf(flat: number, dims: readonly number[]): number[] {
  const index: number[] = [];
  for (let d = dims.length - 1; d >= 1; d--) {
    index.unshift(flat % dims[d]!);
    flat = Math.floor(flat / dims[d]!);
  }
  return dims.length > 1 ? [0, ...index] : [flat];
}

let sharedZoom: { box: HTMLElement; canvas: HTMLCanvasElement; caption: HTMLElement } | undefined;

function zoomBox(): { box: HTMLElement; canvas: HTMLCanvasElement; caption: HTMLElement } {
  if (sharedZoom === undefined || !sharedZoom.box.isConnected) {
    const box = element('div', 'feature-zoom');
    box.hidden = true;
    box.setAttribute('aria-hidden', 'true');
    const canvas = element('canvas');
    const caption = element('p');
    box.append(canvas, caption);
    document.body.append(box);
    sharedZoom = { box, canvas, caption };
  }
  return sharedZoom;
}

/** Beside the pointer, on the side with room, inside the window. */
function place(box: HTMLElement, x: number, y: number): void {
  box.hidden = false;
  const gap = 16;
  const { width, height } = box.getBoundingClientRect();
  const left = x + gap + width <= window.innerWidth ? x + gap : Math.max(0, x - gap - width);
  const top = Math.max(0, Math.min(y + gap, window.innerHeight - height));
  box.style.left = `${left}px`;
  box.style.top = `${top}px`;
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className !== '') e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}
