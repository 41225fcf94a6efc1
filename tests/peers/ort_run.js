#!/usr/bin/env node
// ort_run.js: runs an ONNX model with ONNX Runtime (CPU) on .npy inputs and
// writes every output as DIR/<name>.npy; with --bench, times session.run
// alone and prints latency statistics as JSON. The reference engine of the
// parity tests and of bench/compare_ort.sh.
//
//   node ort_run.js MODEL --input name=x.npy [--input ...] --out DIR [--threads N]
//   node ort_run.js MODEL --input name=x.npy --bench [--warmup 5] [--runs 50] [--threads N]
//
// `--input x.npy` without a name feeds the model's first input. Only the
// inputs given are fed (UltraFace also lists its initializers as inputs).
// Depends on onnxruntime-node (tests/peers/node_modules) and npy.js only.
'use strict';

const fs = require('fs');
const path = require('path');
const { readNpy, writeNpy } = require('./npy');

function loadOrt() {
  try {
    return require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    throw new Error(`onnxruntime-node is not installed in ${path.join(__dirname, 'node_modules')} ` +
      `(run scripts/setup.sh): ${e.message.split('\n')[0]}`);
  }
}

function usage() {
  return 'usage: node ort_run.js MODEL --input [name=]x.npy [...] (--out DIR | --bench) ' +
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
      a.inputs.push(eq > 0 ? { name: v.slice(0, eq), file: v.slice(eq + 1) } : { name: null, file: v });
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
  return a;
}

function percentile(sorted, p) {
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(a.model)) throw new Error(`${a.model}: no such file`);
  const ort = loadOrt();
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
  });
  const feeds = {};
  for (const inp of a.inputs) {
    const name = inp.name === null ? session.inputNames[0] : inp.name;
    if (!session.inputNames.includes(name)) {
      throw new Error(`${a.model}: no input named '${name}' (inputs: ${session.inputNames.join(', ')})`);
    }
    const t = readNpy(inp.file);
    feeds[name] = new ort.Tensor(t.ort, t.data, t.shape);
  }

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
      engine: 'onnxruntime-node', version: ort.env.versions ? ort.env.versions.common : undefined,
      model: path.basename(a.model), threads: a.threads, warmup: a.warmup, runs: a.runs,
      mean_ms: r3(mean), p50_ms: r3(percentile(sorted, 50)), p95_ms: r3(percentile(sorted, 95)),
      min_ms: r3(sorted[0]),
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
  console.error(`ort_run: error: ${e.message}`);
  process.exit(1);
});
