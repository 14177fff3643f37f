import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SGD, lrScheduler } from '../../src/optim/index.js';
import { tensor } from '../../src/tensor/creation.js';
import { loadFixture } from '../helpers/compare-with-torch.js';

const SCHEDULERS = { StepLR: lrScheduler.StepLR, CosineAnnealingLR: lrScheduler.CosineAnnealingLR } as const;

function closeLists(actual: number[], expected: number[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) =>
    assert.ok(Math.abs(v - expected[i]!) <= 1e-12, `epoch ${i}: ${v}, PyTorch gives ${expected[i]}`),
  );
}

describe("schedulers: the lr of each epoch equals PyTorch's", () => {
  for (const c of loadFixture('optim/schedulers.json')) {
    it(c.name, () => {
      const opt = new SGD([tensor([0]).requiresGrad_()], { lr: c.params.lr as number });
      const Scheduler = SCHEDULERS[c.params.scheduler as keyof typeof SCHEDULERS];
      const scheduler = new Scheduler(opt, c.params.options as { stepSize: number; tMax: number });
      const lrs = [scheduler.getLastLr()[0]!];
      for (let i = 0; i < 12; i++) {
        opt.step();
        scheduler.step();
        lrs.push(scheduler.getLastLr()[0]!);
        assert.equal(opt.paramGroups[0]!.lr, lrs.at(-1));
      }
      closeLists(lrs, c.params.lrs as number[]);
    });
  }

  it('a loaded state dict resumes the schedule', () => {
    const optA = new SGD([tensor([0]).requiresGrad_()], { lr: 0.1 });
    const a = new lrScheduler.CosineAnnealingLR(optA, { tMax: 5 });
    for (let i = 0; i < 3; i++) a.step();
    const optB = new SGD([tensor([0]).requiresGrad_()], { lr: 0.1 });
    optB.loadStateDict(optA.stateDict());
    const b = new lrScheduler.CosineAnnealingLR(optB, { tMax: 5 });
    b.loadStateDict(a.stateDict());
    a.step();
    b.step();
    assert.deepEqual(b.getLastLr(), a.getLastLr());
    assert.equal(b.lastEpoch, 4);
  });

  it('StepLR needs a positive integer stepSize', () => {
    const opt = new SGD([tensor([0]).requiresGrad_()]);
    assert.throws(
      () => new lrScheduler.StepLR(opt, { stepSize: 0 }),
      (e: unknown) => e instanceof RangeError && /stepSize/.test(e.message),
    );
  });
});
