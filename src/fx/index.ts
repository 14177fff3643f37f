/** torch.fx for featurefx: graphs, tracing, graph modules and the interpreter. */
export { Graph } from './graph.js';
export { Node, type Opcode, type Target, type Argument } from './node.js';
export { Tracer, type TracerOptions, type TraceOptions, type ModuleClass } from './tracer.js';
export { GraphModule, type GraphModuleOptions } from './graph-module.js';
export { Interpreter, InterpreterError } from './interpreter.js';
export { wrap, type WrapOptions } from './wrap.js';
export { type TracedValue } from './proxy.js';
export { symbolicTrace } from './symbolic-trace.js';
export { exportOnnx, lowerGraph, ExportError, type ExportOptions } from './onnx-export.js';
export { compile, CompiledModule, type CompileOptions } from './compile.js';
