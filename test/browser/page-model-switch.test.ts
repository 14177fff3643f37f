/**
 * The page when the model changes under work still running for the old one: a Grad-CAM run of
 * resnet18 (its model being exported by the server) when an .onnx file is dropped. The old model's
 * sessions must be released only once that run is done: released under it, ONNX Runtime ran the
 * Grad-CAM feeds on a released session's handle, which the new model's session had taken ("failed
 * to call OrtRun(). ... Invalid input name: x"), and the old result must not be drawn for the new
 * model. Needs the built page (`npm run build`), as test/browser/serve-page.test.ts does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type RunningServer, startServer } from '../../src/serve/server.js';
import { NO_CHROMIUM, launchChromium } from '../helpers/chromium.js';

const DENSENET = join(import.meta.dirname, '..', 'fixtures', 'onnx', 'densenet.onnx');

/** Page code (as text: this project's TypeScript has no DOM types) that clicks Grad-CAM's Run, then drops `bytes`. */
const dropDuringGradCam = (bytes: Buffer): string => `{
  document.getElementById('gradcam-run').click();
  const files = new DataTransfer();
  const bytes = Uint8Array.from(atob('${bytes.toString('base64')}'), (c) => c.charCodeAt(0));
  files.items.add(new File([bytes], 'densenet.onnx'));
  document.dispatchEvent(new DragEvent('drop', { dataTransfer: files, cancelable: true }));
}`;

test(
  'a file dropped while Grad-CAM runs: no error from the released model, no Grad-CAM drawn for the file',
  { skip: NO_CHROMIUM, timeout: 300_000 },
  async () => {
    const server: RunningServer = await startServer({ port: 0 });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await page.goto(server.url);
      await page.waitForSelector('#node-tree [data-node="layer4"]', { timeout: 120_000 });
      await page.waitForSelector('#status:text-is("ready")');
      // In one task, so that the file is on the page while the server still exports the Grad-CAM model.
      await page.evaluate(dropDuringGradCam(readFileSync(DENSENET)));
      await page.waitForFunction("window.featurefxPage.model === 'densenet.onnx'");
      // The Grad-CAM run is the queue's first task, the file's preprocessing the next: once the file's
      // preview is drawn, the run is over.
      await page.waitForSelector('#image-preview[title*="as the model sees it: 64×64"]');
      assert.equal(await page.textContent('#error'), '');
      assert.equal(await page.textContent('#gradcam-result'), '');
      assert.deepEqual(pageErrors, []);
    } finally {
      await browser.close();
      await server.close();
    }
  },
);
