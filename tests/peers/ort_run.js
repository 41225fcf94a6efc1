#!/usr/bin/env node
// ort_run.js: runs an ONNX model with ONNX Runtime (CPU). The reference
// engine of the parity tests, of bench/compare_ort.sh and of
// `vedge bench --peer ort` (tools/bench/ort_peer.cpp).
//
//   node ort_run.js MODEL --input name=x.npy [--input ...] --out DIR [--threads N]
//       runs once and writes every output as DIR/<name>.npy;
//   node ort_run.js MODEL --input name=x.npy|name=d0,d1,...[:type] --bench [--warmup 5] [--runs 50] [--threads N]
//       times session.run alone and prints one JSON line with every sample
//       (samples_ms) and their mean/p50/p95/min; an input given as a shape
//       gets seeded uniform random values: float32 (default) in [-1, 1),
//       uint8 / int8 over their whole range (full-integer models);
//   node ort_run.js --check
//       prints {"engine": ..., "version": ...} if ONNX Runtime loads.
//
// `--input x.npy` without a name feeds the model's first input. Only the
// inputs given are fed (UltraFace also lists its initializers as inputs).
// onnxruntime-node is looked up in $VEDGE_ORT_NODE_PATH (a node_modules
// folder, or the onnxruntime-node folder itself), then in
// tests/peers/node_modules. Depends on onnxruntime-node and npy.js only.
'use strict';

const fs = require('fs');
const path = require('path');
const { readNpy, writeNpy } = require('./npy');

// {ort, version} of the onnxruntime-node found (see the header).
function loadOrt() {
  const env = process.env.VEDGE_ORT_NODE_PATH;
  const candidates = env
    ? [path.join(env, 'onnxruntime-node'), env]
    : [path.join(__dirname, 'node_modules', 'onnxruntime-node')];
  const dir = candidates.find((c) => fs.existsSync(path.join(c, 'package.json')));
  if (!dir) {
    throw new Error(`onnxruntime-node is not installed (looked in ${candidates.join(', ')}; ` +
      'run scripts/setup.sh or set VEDGE_ORT_NODE_PATH)');
  }
  const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  return { ort: require(dir), version };
}

function usage() {
  return 'usage: node ort_run.js MODEL --input [name=]x.npy|name=d0,d1,... [...] (--out DIR | --bench) ' +
    '[--threads N] [--warmup N] [--runs N]';
}

function parseArgs(argv) {
  const a = { model: null, inputs: [], out: null, threads: 1, bench: false, warmup: 5, runs: 50 };
  const intArg = (flag, v, min) => {
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
      const inp = eq > 0 ? { name: v.slice(0, eq), file: v.slice(eq + 1) } : { name: null, file: v };
      const m = inp.name !== null && /^([0-9]+(?:,[0-9]+)*)(?::(float32|uint8|int8))?$/.exec(inp.file);
      if (m) {  // a shape: random values
        inp.shape = m[1].split(',').map((d) => intArg('--input', d, 1));
        inp.type = m[2] || 'float32';
        inp.file = null;
      }
      a.inputs.push(inp);
    } else if (k === '--out') a.out = next();
    else if (k === '--threads') a.threads = intArg(k, next(), 1);
    else if (k === '--warmup') a.warmup = intArg(k, next(), 0);
    else if (k === '--runs') a.runs = intArg(k, next(), 1);
    else if (k === '--bench') a.bench = true;
    else if (k.startsWith('--')) throw new Error(`unknown flag ${k}; ${usage()}`);
    else if (a.model === null) a.model = k;
    else throw new Error(`unexpected argument '${k}'; ${usage()}`);
  }
  if (!a.model) throw new Error(usage());
  if (a.inputs.length === 0) throw new Error(`no --input given; ${usage()}`);
  if (!a.bench && !a.out) throw new Error(`need --out DIR or --bench; ${usage()}`);
  if (!a.bench && a.inputs.some((inp) => inp.file === null)) {
    throw new Error('--input NAME=shape (random values) is for --bench only; give a .npy file');
  }
  return a;
}

// Uniform values from a 32-bit LCG (seeded, reproducible): float32 in
// [-1, 1), uint8 / int8 over their range (the top 8 bits of the state).
function randomTensor(ort, type, shape, seed) {
  const n = shape.reduce((p, d) => p * d, 1);
  const data = type === 'uint8' ? new Uint8Array(n) : type === 'int8' ? new Int8Array(n) : new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = type === 'float32' ? s / 2147483648 - 1 : (s >>> 24) - (type === 'int8' ? 128 : 0);
  }
  return new ort.Tensor(type, data, shape);
}

function percentile(sorted, p) {
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

async function main() {
  if (process.argv[2] === '--check') {
    const { version } = loadOrt();
    console.log(JSON.stringify({ engine: 'onnxruntime-node', version }));
    return;
  }
  const a = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(a.model)) throw new Error(`${a.model}: no such file`);
  const { ort, version } = loadOrt();
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
    const name = inp.name === null ? session.inputNames[0] : inp.name;
    if (!session.inputNames.includes(name)) {
      throw new Error(`${a.model}: no input named '${name}' (inputs: ${session.inputNames.join(', ')})`);
    }
    if (inp.file === null) {
      feeds[name] = randomTensor(ort, inp.type, inp.shape, 12345 + k);
    } else {
      const t = readNpy(inp.file);
      feeds[name] = new ort.Tensor(t.ort, t.data, t.shape);
    }
  });

  if (a.bench) {
    for (let i = 0; i < a.warmup; i++) await session.run(feeds);
    const ms = [];
    for (let i = 0; i < a.runs; i++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const sorted = [...ms].sort((x, y) => x - y);
    const mean = ms.reduce((s, v) => s + v, 0) / ms.length;
    const r3 = (v) => Math.round(v * 1000) / 1000;
    console.log(JSON.stringify({
      engine: 'onnxruntime-node', version, model: a.model, threads: a.threads, warmup: a.warmup,
      runs: a.runs, mean_ms: r3(mean), p50_ms: r3(percentile(sorted, 50)), p95_ms: r3(percentile(sorted, 95)),
      min_ms: r3(sorted[0]), samples_ms: ms,
    }));
    return;
  }

  const results = await session.run(feeds);
  fs.mkdirSync(a.out, { recursive: true });
  for (const name of session.outputNames) {
    const t = results[name];
    writeNpy(path.join(a.out, `${name}.npy`), t.data, t.dims, t.type);
  }
}

main().catch((e) => {
  console.error(`ort_run: error: ${e.message.split('\n')[0]}`);
  process.exit(1);
});
