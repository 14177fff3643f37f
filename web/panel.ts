/**
 * A selected node's panel: a bar (the name clicked and the node it resolved to, shape and time, the
 * node's .npy download, a close button) over the view that feature-grid.ts draws. The panel's data
 * attributes are the page's contract with its end-to-end test: `data-panel` (what was clicked),
 * `data-node`, and once the grid is on screen `data-ready` with `data-ms` (click to screen) and its
 * parts `data-wait-ms`, `data-session-ms`, `data-run-ms`.
 */
import { npyFile, offerDownload } from './downloads.js';
import { type FeatureMap, renderFeaturePanel } from './feature-grid.js';
import { formatShape, type Resolved } from './node-tree.js';

/** An empty panel for `resolved`, computing; `close` runs when its close button is clicked. */
export function createPanel(resolved: Resolved, close: () => void): HTMLElement {
  const panel = document.createElement('section');
  panel.className = 'panel';
  panel.dataset['panel'] = resolved.query;
  panel.dataset['node'] = resolved.node.name;
  const bar = document.createElement('div');
  bar.className = 'panel-bar';
  const title = document.createElement('span');
  title.className = 'panel-title';
  title.textContent =
    resolved.query === resolved.node.name ? resolved.query : `${resolved.query} \u2192 ${resolved.node.name}`;
  const time = document.createElement('span');
  time.className = 'panel-time';
  time.textContent = 'computing\u2026';
  const npy = document.createElement('a');
  npy.className = 'download-npy button small';
  npy.textContent = '.npy';
  npy.title = `${resolved.node.name}'s features as a NumPy file`;
  offerDownload(npy, undefined);
  const closeButton = document.createElement('button');
  closeButton.type = 'button';
  closeButton.className = 'panel-close';
  closeButton.textContent = '\u00d7';
  closeButton.setAttribute('aria-label', `close ${resolved.query}`);
  closeButton.addEventListener('click', close);
  bar.append(title, time, npy, closeButton);
  const view = document.createElement('div');
  view.className = 'panel-view';
  panel.append(bar, view);
  return panel;
}

/**
 * Draws `map` in the panel and, once it is on screen (the frame after the draw is painted), marks
 * the panel ready with the time since `clickedAt` (performance.now() at the click) and where it went.
 */
export function showPanelMap(
  panel: HTMLElement,
  map: FeatureMap,
  clickedAt: number,
  parts: { waitMs: number; sessionMs: number; runMs: number },
): Promise<void> {
  renderFeaturePanel(panel.querySelector<HTMLElement>('.panel-view')!, map);
  offerDownload(panel.querySelector<HTMLAnchorElement>('a.download-npy')!, () => npyFile(map));
  // requestAnimationFrame runs just before the frame is painted; the task after it, once it is.
  return new Promise((resolve) =>
    requestAnimationFrame(() =>
      setTimeout(() => {
        const ms = Math.round(performance.now() - clickedAt);
        panel.querySelector('.panel-time')!.textContent = `${formatShape(map.dims)} \u00b7 ${ms} ms`;
        panel.dataset['waitMs'] = String(parts.waitMs);
        panel.dataset['sessionMs'] = String(parts.sessionMs);
        panel.dataset['runMs'] = String(parts.runMs);
        panel.dataset['ms'] = String(ms);
        panel.dataset['ready'] = 'true';
        resolve();
      }),
    ),
  );
}

/** The panel's node could not be computed: the message replaces its view. */
export function showPanelError(panel: HTMLElement, message: string): void {
  panel.querySelector('.panel-time')!.textContent = 'failed';
  const text = document.createElement('p');
  text.className = 'panel-error';
  text.textContent = message;
  panel.querySelector('.panel-view')!.replaceChildren(text);
}
