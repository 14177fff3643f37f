/**
 * onnxruntime-web as the page uses it: its runtime files from the page's own `ort/` folder, WebGPU
 * when the browser gives an adapter (else WebAssembly, threaded when the page is cross-origin
 * isolated), sessions cached per output set, and the queue that runs the page's sessions one task at
 * a time.
 */
import * as ort from 'onnxruntime-web';
import { PromiseLru } from '../src/runtime/promise-lru.js';

export { Tensor as OrtTensor } from 'onnxruntime-web';

/**
 * Errors only: ONNX Runtime writes its warnings with console.error, e.g. that WebGPU leaves shape ops
 * on the CPU, which it does by design.
 */
const SESSION_OPTIONS = { logSeverityLevel: 3 } as const;

/** The execution provider sessions are created with, and how the header describes it. */
export class Runtime {
  private constructor(
    private gpu: boolean,
    private description: string,
    private readonly wasmDescription: string,
  ) {}

  /** Sets onnxruntime-web's paths and threads, and picks WebGPU when an adapter is available. */
  static async start(): Promise<Runtime> {
    // Relative to the page, so the same files work under any path of any host.
    ort.env.wasm.wasmPaths = new URL('ort/', document.baseURI).href;
    // Threads need SharedArrayBuffer, which browsers give cross-origin isolated pages only.
    const threads = crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    ort.env.wasm.numThreads = threads;
    const wasm =
      `WebAssembly (SIMD, ${threads} thread${threads === 1 ? '' : 's'}` +
      (crossOriginIsolated ? ')' : ': the page is not cross-origin isolated)');
    const adapter = await webGpuAdapter();
    return adapter ? new Runtime(true, 'WebGPU', wasm) : new Runtime(false, wasm, wasm);
  }

  /** E.g. "WebGPU" or "WebAssembly (SIMD, 2 threads)", with why WebGPU is not used when it failed. */
  get backend(): string {
    return this.description;
  }

  /**
   * A session of `model` on WebGPU when available (nodes it lacks kernels for run on WebAssembly), or
   * on WebAssembly. A model WebGPU cannot start at all switches the page to WebAssembly for good.
   */
  async createSession(model: Uint8Array, options: { cpuOnly?: boolean } = {}): Promise<ort.InferenceSession> {
    if (this.gpu && options.cpuOnly !== true) {
      try {
        return await ort.InferenceSession.create(model, { ...SESSION_OPTIONS, executionProviders: ['webgpu', 'wasm'] });
      } catch (error) {
        this.gpu = false;
        this.description = `${this.wasmDescription}; WebGPU failed: ${messageOf(error)}`;
      }
    }
    return ort.InferenceSession.create(model, { ...SESSION_OPTIONS, executionProviders: ['wasm'] });
  }
}

async function webGpuAdapter(): Promise<boolean> {
  // navigator.gpu is absent from TypeScript's DOM library: read it as the optional API it is.
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (gpu === undefined) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

/** ONNX Runtime's work in the page, one task at a time: a session runs one call at a time. */
let queue: Promise<unknown> = Promise.resolve();

/** Runs `task` after every task enqueued before it (whether they succeeded or failed). */
export function enqueue<T>(task: () => Promise<T>): Promise<T> {
  const result = queue.then(task);
  queue = result.catch(() => undefined);
  return result;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Sessions of one model keyed by what they compute (e.g. the output set), the `capacity` most
 * recently used kept; older ones are released. Concurrent requests for one key share a session.
 */
export class SessionCache {
  private readonly sessions: PromiseLru<ort.InferenceSession>;

  constructor(capacity = 4) {
    // Dropped sessions are released at once: sessions are asked for inside the queue, so none runs.
    this.sessions = new PromiseLru(
      capacity,
      () => 1,
      (session) => release(Promise.resolve(session)),
    );
  }

  get(key: string, create: () => Promise<ort.InferenceSession>): Promise<ort.InferenceSession> {
    return this.sessions.get(key, create);
  }

  /**
   * Releases every session (when the page switches models) once the task running now is done: a
   * session released under its own run would fail it, or free memory the run still uses.
   */
  clear(): void {
    const sessions = this.sessions.clear();
    void enqueue(async () => sessions.forEach(release));
  }
}

function release(session: Promise<ort.InferenceSession>): void {
  session.then((s) => s.release()).catch(() => undefined);
}
