/**
 * Every tensor an ONNX model holds, wherever it is: graph initializers (sparse ones' values and
 * indices), tensor attributes of nodes (Constant's value), in subgraphs (If, Loop, Scan), local
 * functions and training graphs. External data and size checks must see them all, as ONNX's own
 * external-data loader does. Browser-safe.
 */
import type {
  AttributeProto,
  GraphProto,
  ModelProto,
  NodeProto,
  SparseTensorProto,
  TensorProto,
} from './model-proto.js';

export interface LocatedTensor {
  tensor: TensorProto;
  /** Where it is, for messages: "initializer 'conv1.weight'", "attribute 'value' of node '/Constant'". */
  where: string;
}

/** The model's tensors in file order. An explicit stack: a hostile file may nest graphs deeply. */
export function* modelTensors(model: ModelProto): Generator<LocatedTensor> {
  const graphs: GraphProto[] = [];
  const nodes: NodeProto[] = [];
  if (model.graph !== undefined) graphs.push(model.graph);
  for (const info of model.trainingInfo) {
    if (info.initialization !== undefined) graphs.push(info.initialization);
    if (info.algorithm !== undefined) graphs.push(info.algorithm);
  }
  for (const fn of model.functions) nodes.push(...fn.node);
  while (graphs.length > 0 || nodes.length > 0) {
    const graph = graphs.pop();
    if (graph !== undefined) {
      for (const tensor of graph.initializer) yield { tensor, where: `initializer '${tensor.name ?? ''}'` };
      for (const sparse of graph.sparseInitializer) yield* sparseParts(sparse, 'sparse initializer');
      nodes.push(...graph.node);
      continue;
    }
    const node = nodes.pop()!;
    for (const attribute of node.attribute) {
      const where = `attribute '${attribute.name ?? ''}' of node '${node.name ?? node.opType ?? ''}'`;
      yield* attributeTensors(attribute, where);
      if (attribute.g !== undefined) graphs.push(attribute.g);
      graphs.push(...attribute.graphs);
    }
  }
}

function* attributeTensors(attribute: AttributeProto, where: string): Generator<LocatedTensor> {
  if (attribute.t !== undefined) yield { tensor: attribute.t, where };
  for (const tensor of attribute.tensors) yield { tensor, where };
  if (attribute.sparseTensor !== undefined) yield* sparseParts(attribute.sparseTensor, where);
  for (const sparse of attribute.sparseTensors) yield* sparseParts(sparse, where);
}

function* sparseParts(sparse: SparseTensorProto, where: string): Generator<LocatedTensor> {
  const name = sparse.values?.name ?? '';
  if (sparse.values !== undefined) yield { tensor: sparse.values, where: `${where} '${name}' (values)` };
  if (sparse.indices !== undefined) yield { tensor: sparse.indices, where: `${where} '${name}' (indices)` };
}
