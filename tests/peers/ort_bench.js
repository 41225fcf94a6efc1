#!/usr/bin/env node
// ort_bench.js: times an ONNX model's network in ONNX Runtime (CPU) for
// `vedge bench --peer ort`: a seeded random input of the given shapes,
// warm-up runs, then timed session.run calls; prints one JSON line with every
// sample, so that the caller computes its statistics the same way as its own.
//
//   node ort_bench.js MODEL --input NAME=1,3,240,320 [--input ...]
//        [--threads 1] [--warmup 5] [--runs 50]
//   node ort_bench.js --check     (prints {"version": ...} if ONNX Runtime loads)
//
// onnxruntime-node is looked up in $VEDGE_ORT_NODE_PATH (a node_modules
// folder, or the onnxruntime-node folder itself), then next to this script.
// Only the inputs given are fed (UltraFace also lists its weights as inputs).
// Depends on onnxruntime-node only.
'use strict';

const fs = require('fs');
const path = require('path');

function ortDir() {
  const env = process.env.VEDGE_ORT_NODE_PATH;
  const candidates = env
    ? [path.join(env, 'onnxruntime-node'), env]
    : [path.join(__dirname, 'node_modules', 'onnxruntime-node')];
  for (const c of candidates) {
    if (fs.existsSync(path.join(c, 'package.json'))) return c;
  }
  throw new Error(`onnxruntime-node is not installed (looked in ${candidates.join(', ')}; ` +
    'run scripts/setup.sh or set VEDGE_ORT_NODE_PATH)');
}

function parseArgs(argv) {
  const a = { model: null, inputs: [], threads: 1, warmup: 5, runs: 50 };
  const int = (flag, v, min) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag}: expected an integer >= ${min}, got '${v}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${k}: missing value`);
      return argv[++i];
    };
    if (k === '--input') {
      const v = next();
      const eq = v.indexOf('=');
      if (eq <= 0) throw new Error(`--input: expected NAME=d0,d1,..., got '${v}'`);
      const shape = v.slice(eq + 1).split(',').map((d) => int('--input', d, 1));
      a.inputs.push({ name: v.slice(0, eq), shape });
    } else if (k === '--threads') a.threads = int(k, next(), 1);
    else if (k === '--warmup') a.warmup = int(k, next(), 0);
    else if (k === '--runs') a.runs = int(k, next(), 1);
    else if (k.startsWith('--')) throw new Error(`unknown flag ${k}`);
    else if (a.model === null) a.model = k;
    else throw new Error(`unexpected argument '${k}'`);
  }
  if (!a.model || a.inputs.length === 0) {
    throw new Error('usage: node ort_bench.js MODEL --input NAME=d0,d1,... [--threads N] [--warmup N] [--runs N]');
  }
  return a;
}

// Uniform values in [-1, 1) from a 32-bit LCG (seeded, reproducible).
function randomTensor(ort, shape, seed) {
  const n = shape.reduce((p, d) => p * d, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2147483648 - 1;
  }
  return new ort.Tensor('float32', data, shape);
}

async function main() {
  if (process.argv[2] === '--check') {
    const dir = ortDir();
    require(dir);
    const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
    console.log(JSON.stringify({ engine: 'onnxruntime-node', version }));
    return;
  }
  const a = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(a.model)) throw new Error(`${a.model}: no such file`);
  const dir = ortDir();
  const ort = require(dir);
  const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
  });
  const feeds = {};
  a.inputs.forEach((inp, k) => {
    if (!session.inputNames.includes(inp.name)) {
      throw new Error(`${a.model}: no input named '${inp.name}' (inputs: ${session.inputNames.join(', ')})`);
    }
    feeds[inp.name] = randomTensor(ort, inp.shape, 12345 + k);
  });
  for (let i = 0; i < a.warmup; i++) await session.run(feeds);
  const samples = [];
  for (let i = 0; i < a.runs; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  console.log(JSON.stringify({
    engine: 'onnxruntime-node', version, model: a.model, threads: a.threads, warmup: a.warmup,
    runs: a.runs, samples_ms: samples,
  }));
}

main().catch((e) => {
  console.error(`ort_bench: error: ${e.message.split('\n')[0]}`);
  process.exit(1);
});
