import type { Graph } from '../fx/graph.js';
import { cloneGraph } from '../fx/graph-copy.js';
import { GraphModule } from '../fx/graph-module.js';
import { type CloneMemo, type Module, setOwnField } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * A `GraphModule` with a train-mode and an eval-mode graph, as torchvision's DualGraphModule:
 * it holds what either graph references, and `train()` / `eval()` switch the graph it runs.
 */
export class DualGraphModule extends GraphModule {
  readonly trainGraph: Graph;
  readonly evalGraph: Graph;

  constructor(
    root: Module,
    trainGraph: Graph,
    evalGraph: Graph,
    className: string,
    constants: ReadonlyMap<string, Tensor>,
  ) {
    super(root, trainGraph, { className, constants });
    this.trainGraph = trainGraph;
    this.evalGraph = evalGraph;
    this.copyReferencedAttributes(root, evalGraph, constants);
  }

  /** GraphModule's copy, with copies of both graphs: the copy still switches on train() and eval(). */
  protected override copyInto(copy: this, memo: CloneMemo): void {
    super.copyInto(copy, memo);
    setOwnField(copy, 'trainGraph', cloneGraph(this.trainGraph, memo));
    setOwnField(copy, 'evalGraph', cloneGraph(this.evalGraph, memo));
  }

  /** Switches to the train or eval graph (recompiling only when it changes), then sets the flag. */
  override train(mode = true): this {
    const wanted = mode ? this.trainGraph : this.evalGraph;
    if (this.graph !== wanted) this.graph = wanted;
    return super.train(mode);
  }
}
