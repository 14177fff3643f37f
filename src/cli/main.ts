#!/usr/bin/env node
/**
 * The `featurefx` command: list a model's nodes, extract features from images, merge shards,
 * export ONNX, visualise feature maps, draw Grad-CAM maps, detect objects, serve the page.
 *
 * Each command imports what it runs when it runs (ONNX Runtime, sharp and the zoo take most of a
 * second to load): `featurefx --help` and `featurefx models` do not wait for what they never use.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { COLORMAP_NAMES, type ColormapName } from '../explain/colormaps.js';
import type { ModuleClass } from '../fx/tracer.js';
import { setNumThreads } from '../runtime/threads.js';
import type { DetectOptions } from './detect.js';
import { defaultBatch, defaultWorkers } from './extract-pipeline.js';
import type { ServeOptions } from './serve.js';

const SAMPLE_IMAGE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets', 'sample.png');

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function portNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected a port from 0 to 65535 (0: a free one)');
  return n;
}

function scoreThreshold(value: string): number {
  const s = Number(value);
  if (value.trim() === '' || !(s >= 0 && s <= 1)) throw new InvalidArgumentError('expected a score from 0 to 1');
  return s;
}

/** A parser of whole numbers from 0; `what` names the value in the message (`a class index`). */
function nonNegativeInt(what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected ${what} (0, 1, 2, ...)`);
    return n;
  };
}

/** Leaf classes named on the command line: featurefx's layers, torchvision ops modules, and the zoo's blocks. */
async function leafClasses(spec: string | undefined): Promise<ModuleClass[]> {
  if (spec === undefined) return [];
  const available = { ...(await import('../nn/index.js')), ...(await import('../models/index.js')) } as Record<
    string,
    unknown
  >;
  return spec.split(',').map((name) => {
    // Own properties only: `toString` or `constructor` are not module classes.
    const cls = Object.hasOwn(available, name.trim()) ? available[name.trim()] : undefined;
    if (typeof cls !== 'function') throw new Error(`--leaf: unknown module class '${name}'`);
    return cls as ModuleClass;
  });
}

const program = new Command()
  .name('featurefx')
  .description("torchvision's feature extraction in TypeScript, on ONNX Runtime")
  .option('--threads <n>', 'threads ONNX Runtime uses inside each op', positiveInt)
  .hook('preAction', (cmd) => {
    const threads = cmd.opts<{ threads?: number }>().threads;
    if (threads !== undefined) setNumThreads(threads);
  });

program
  .command('nodes [model]')
  .description(
    'list node names in execution order, with kinds and (given an input shape) output shapes, ' +
      "of a zoo model or a .onnx file (names from torch.onnx's scopes, the shapes it declares)",
  )
  .addOption(new Option('--mode <mode>', 'the graph to list').choices(['train', 'eval', 'both']).default('both'))
  .option('--leaf <classes>', 'module classes to keep as single nodes, comma-separated (e.g. Bottleneck)')
  .option('--input-shape <shape>', 'e.g. 1,3,224,224: also print each node output shape')
  .option('--json', 'print JSON: {"train": [...], "eval": [...], "details": [...]}')
  .addOption(
    new Option(
      '--catalogue',
      "print the shipped JSON catalogue of every model's nodes with shapes, channels and strides " +
        '(1,3,224,224; inception_v3 1,3,299,299), or of the model named; nothing is built',
    ).conflicts(['mode', 'leaf', 'inputShape']),
  )
  .action(
    async (
      name: string | undefined,
      o: { mode: 'train' | 'eval' | 'both'; leaf?: string; inputShape?: string; json?: boolean; catalogue?: boolean },
    ) => {
      if (o.catalogue === true) {
        const catalogue = (await import('./catalogue.js')).readCatalogue();
        // An unknown name gets the registry's error, which lists the closest names.
        if (name !== undefined && catalogue.models[name] === undefined)
          (await import('./model-setup.js')).classifierEntry(name);
        console.log(JSON.stringify(name === undefined ? catalogue : catalogue.models[name]));
        return;
      }
      if (name === undefined)
        throw new InvalidArgumentError('nodes: name a model (`featurefx models` lists them), or give --catalogue');
      if (name.endsWith('.onnx')) return (await import('./onnx-nodes.js')).printOnnxNodes(name, o);
      const { classifierEntry, parseShape } = await import('./model-setup.js');
      classifierEntry(name);
      const [{ getModel }, { skipInit }, { getGraphNodeNames }, { NodePathTracer, withDefaultLeaves }] =
        await Promise.all([
          import('../models/index.js'),
          import('../nn/init.js'),
          import('../featureExtraction/get-graph-node-names.js'),
          import('../featureExtraction/node-path-tracer.js'),
        ]);
      const [{ ShapeProp }, { GraphModule }] = await Promise.all([
        import('../fx/passes/shape-prop.js'),
        import('../fx/graph-module.js'),
      ]);
      // Node names need no weights, so none are drawn.
      const model = skipInit(() => getModel(name));
      const tracerOptions = { leafModules: await leafClasses(o.leaf) };
      const [train, evalNodes] = getGraphNodeNames(model, { tracerOptions, suppressDiffWarning: true });
      // Kinds and shapes come from one more trace, in the mode listed ('both' shows eval's).
      model.train(o.mode === 'train');
      const tracer = new NodePathTracer(withDefaultLeaves(tracerOptions));
      const graph = tracer.trace(model);
      if (o.inputShape !== undefined)
        new ShapeProp(new GraphModule(model, graph, { constants: tracer.tensorConstants }), graph).propagate({
          dtype: 'float32',
          shape: parseShape(o.inputShape),
        });
      const details = [...tracer.nodeToQualname].map(([node, qualname]) => {
        const meta = node.meta.tensorMeta as { shape?: readonly number[] } | number | undefined;
        const shape = typeof meta === 'object' && meta !== null && 'shape' in meta ? [...meta.shape!] : meta;
        return { name: qualname, kind: node.op, ...(shape === undefined ? {} : { shape }) };
      });
      if (o.json === true) {
        console.log(JSON.stringify({ train, eval: evalNodes, details }, null, 1));
        return;
      }
      if (o.mode === 'both' && JSON.stringify(train) !== JSON.stringify(evalNodes)) {
        console.log('# the train and eval graphs differ; --mode train or --mode eval gives kinds and shapes');
        for (const [mode, names] of Object.entries({ train, eval: evalNodes })) {
          console.log(`# ${mode}`);
          for (const n of names) console.log(n);
        }
        return;
      }
      for (const d of details)
        console.log([d.name, d.kind, d.shape === undefined ? '' : JSON.stringify(d.shape)].join('\t').trimEnd());
    },
  );

program
  .command('extract <model> [images...]')
  .description('extract features of images (files or folders); without images, the bundled sample image')
  .requiredOption('--nodes <nodes>', 'a,b or a=key,b=key2 (truncated names select the last node under them)')
  .option('--weights <file>', 'a .pth or .safetensors state dict (random weights otherwise)')
  .option(
    '--batch <n>',
    `images per model call (default 8 per core, 8 to 32: ${defaultBatch()} here)`,
    positiveInt,
  )
  .option('--decode-ahead <n>', 'images decoded and preprocessed ahead of the model (default 2 batches)', positiveInt)
  .option(
    '--workers <n>',
    `threads that decode and preprocess, for jobs of more than a batch; 0: the main thread (default half the cores, 1 to 8: ${defaultWorkers()} here)`,
    nonNegativeInt('a number of threads'),
  )
  .option('--fast-resize', "resize with sharp, shrinking JPEGs while decoding: faster, not torchvision's pixels")
  .option('--format <format>', 'npy or safetensors', 'npy')
  .option('--shard <K/N>', 'take every N-th image starting at K (K defaults to JOB_COMPLETION_INDEX)')
  .option('--out <dir>', 'output folder', 'features')
  .addHelpText(
    'after',
    [
      '',
      'Threads: the model runs on the main thread with ONNX Runtime using every core',
      '(`featurefx --threads N extract ...` to change it); while it runs, the workers',
      'decode and preprocess the next images (one ONNX Runtime thread each) and another',
      "thread writes the last batch's files.",
    ].join('\n'),
  )
  .action(
    async (
      name: string,
      images: string[],
      o: {
        nodes: string;
        weights?: string;
        batch?: number;
        decodeAhead?: number;
        workers?: number;
        fastResize?: boolean;
        format: string;
        shard?: string;
        out: string;
      },
    ) => {
      if (o.format !== 'npy' && o.format !== 'safetensors')
        throw new InvalidArgumentError(`--format must be npy or safetensors, got '${o.format}'`);
      const { decodeAhead, ...rest } = o;
      const { extract } = await import('./extract.js');
      await extract(name, images.length > 0 ? images : [SAMPLE_IMAGE], {
        ...rest,
        batch: o.batch ?? defaultBatch(),
        ahead: decodeAhead,
        workers: o.workers ?? defaultWorkers(),
        format: o.format,
      });
    },
  );

program
  .command('merge <dirs...>')
  .description('join the outputs of sharded extract runs')
  .requiredOption('--out <dir>', 'output folder')
  .action(async (dirs: string[], o: { out: string }) => (await import('./merge.js')).merge(dirs, o.out));

program
  .command('export <model>')
  .description('export the feature extractor for some nodes as one ONNX model')
  .requiredOption('--nodes <nodes>', 'a,b or a=key,b=key2')
  .option('--weights <file>', 'a .pth or .safetensors state dict')
  .option('--input-shape <shape>', 'input shape; the batch dimension stays dynamic', '1,3,224,224')
  .requiredOption('--out <file>', 'the .onnx file to write')
  .action(async (name: string, o: { nodes: string; weights?: string; inputShape: string; out: string }) => {
    const [{ buildExtractor, loadModel, parseShape }, { exportOnnx }, { featureInfo }] = await Promise.all([
      import('./model-setup.js'),
      import('../fx/onnx-export.js'),
      import('../featureExtraction/feature-info.js'),
    ]);
    const { model } = loadModel(name, o.weights);
    const extractor = buildExtractor(model, o.nodes);
    const shape = parseShape(o.inputShape);
    exportOnnx(extractor, { inputShape: shape, path: o.out });
    for (const f of featureInfo(extractor, { inputShape: shape }))
      console.error(`featurefx: output '${f.key}' [${f.shape.join(', ')}]`);
    console.error(`featurefx: wrote ${o.out}`);
  });

program
  .command('visualize <model> <image>')
  .description("draw one node's channels for an image as a PNG grid")
  .requiredOption('--node <node>', 'the node to draw')
  .option('--weights <file>', 'a .pth or .safetensors state dict')
  .addOption(new Option('--colormap <name>', 'the colour map').choices(COLORMAP_NAMES).default('gray'))
  .requiredOption('--out <file>', 'the .png file to write')
  .action(
    async (name: string, image: string, o: { node: string; weights?: string; colormap: ColormapName; out: string }) =>
      (await import('./visualize.js')).visualize(name, o.node, image, o),
  );

program
  .command('gradcam <model> <image>')
  .description('draw where the model looked for a class (Grad-CAM of a node) as a heat map over the image')
  .requiredOption('--node <node>', 'the node whose activations make the map, e.g. layer4')
  .option('--class <n>', 'the class to explain (default: the top-scoring class)', nonNegativeInt('a class index'))
  .option('--weights <file>', 'a .pth or .safetensors state dict')
  .requiredOption('--out <file>', 'the .png file to write')
  .action(async (name: string, image: string, o: { node: string; class?: number; weights?: string; out: string }) =>
    (await import('./gradcam.js')).gradcam(name, image, {
      node: o.node,
      classIndex: o.class,
      weights: o.weights,
      out: o.out,
    }),
  );

program
  .command('detect <model> <images...>')
  .description('detect objects (Faster/Mask R-CNN): <image>.json and <image>.png with boxes and masks drawn, per image')
  .option('--weights <file>', 'a .pth or .safetensors state dict (random weights otherwise)')
  .option('--score <s>', "keep detections scoring above this (the model's boxScoreThresh)", scoreThreshold, 0.5)
  .option(
    '--max-detections <n>',
    "detections per image at most (the model's boxDetectionsPerImg, default 100)",
    positiveInt,
  )
  .option('--batch <n>', 'images per model call', positiveInt, 2)
  .option(
    '--min-size <n>',
    "the model's resize: the shorter side's length (the model's default otherwise)",
    positiveInt,
  )
  .option('--max-size <n>', "the model's resize: the longer side's limit (the model's default otherwise)", positiveInt)
  .option('--num-classes <n>', 'classes of the checkpoint, background included (default 91, COCO)', positiveInt)
  .option('--no-compile', 'run the backbone and the heads eagerly (their fixed graphs are compiled by default)')
  .requiredOption('--out <dir>', 'output folder (new, or without the files this run writes)')
  .action(async (name: string, images: string[], o: DetectOptions) =>
    (await import('./detect.js')).detect(name, images, o),
  );

program
  .command('serve [MODEL.onnx...]')
  .description(
    'serve the page that explores a model in a browser: the zoo (exported on demand) and the .onnx files given; ' +
      'everything runs in the page, nothing is uploaded',
  )
  .option('--port <n>', 'the port (0: a free one)', portNumber, 8080)
  .option(
    '--host <host>',
    'the address to listen on; other than 127.0.0.1, the page is reachable from the network',
    '127.0.0.1',
  )
  .option(
    '--weights <NAME=FILE>',
    'a .pth or .safetensors state dict for the zoo model NAME (random weights otherwise); repeat for others',
    (spec: string, previous: string[] | undefined) => [...(previous ?? []), spec],
  )
  .option('--page-dir <dir>', "serve the page from this folder instead of the package's dist/web")
  .action(async (files: string[], o: ServeOptions) => (await import('./serve.js')).serve(files, o));

program
  .command('models')
  .description('list the models of the zoo')
  .action(async () => console.log((await import('../models/index.js')).listModels().join('\n')));

program.parseAsync(process.argv).catch((e: unknown) => {
  // Users get the message (which names what to do), not a stack trace.
  process.stderr.write(`featurefx: error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
