/**
 * Grad mode: whether eager ops record what backward needs, as `torch.no_grad()` and
 * `torch.enable_grad()` switch it. JavaScript has no `with`, so the scopes take a function.
 */

let enabled = true;

/** Whether ops on tensors that require grad are being recorded. */
export function isGradEnabled(): boolean {
  return enabled;
}

/** Switches grad mode until switched back; prefer `noGrad(fn)`, which restores it. */
export function setGradEnabled(mode: boolean): void {
  enabled = mode;
}

function withGradMode<T>(mode: boolean, fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`[${mode ? 'enableGrad' : 'noGrad'}] expects a function to run`);
  const previous = enabled;
  enabled = mode;
  try {
    const result = fn();
    if (result instanceof Promise) {
      // Another task could run while the promise waits and would see this mode: the scope is
      // synchronous, as a Python `with` block is. Await inside, outside the scope.
      throw new TypeError(
        `[${mode ? 'enableGrad' : 'noGrad'}] the function returned a Promise; grad mode covers synchronous code ` +
          'only. Run the awaited work outside, or call the synchronous API inside',
      );
    }
    return result;
  } finally {
    enabled = previous;
  }
}

/**
 * Runs `fn` without recording for backward, as `with torch.no_grad():`. Its results do not
 * require grad, and no graph holds on to activations: use it for inference.
 * @example
 * const model = resnet18().eval();
 * const logits = noGrad(() => model.call(rand([1, 3, 64, 64]))); // logits.requiresGrad === false
 */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with recording on, inside a `noGrad` scope, as `with torch.enable_grad():`. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
