// npy.js: reads and writes NumPy .npy files (format versions 1-3, little-endian,
// C order) as {dtype, shape, data} where data is a typed array.
// Test peer only; depends on Node's fs and nothing else.
'use strict';

const fs = require('fs');

// .npy descr <-> typed array constructor and ONNX Runtime tensor type.
const DTYPES = {
  '<f4': { array: Float32Array, ort: 'float32' },
  '<f8': { array: Float64Array, ort: 'float64' },
  '<i4': { array: Int32Array, ort: 'int32' },
  '<i8': { array: BigInt64Array, ort: 'int64' },
  '|u1': { array: Uint8Array, ort: 'uint8' },
  '|i1': { array: Int8Array, ort: 'int8' },
  '|b1': { array: Uint8Array, ort: 'bool' },
};

function fail(path, msg) {
  throw new Error(`${path}: ${msg}`);
}

function parseHeader(path, text) {
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text);
  const order = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !order || !shape) fail(path, 'malformed .npy header');
  if (order[1] === 'True') fail(path, 'Fortran-order arrays are not supported');
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0)
    .map((s) => {
      const v = Number(s);
      if (!Number.isInteger(v) || v < 0) fail(path, `bad dimension '${s}' in .npy header`);
      return v;
    });
  return { descr: descr[1], shape: dims };
}

// Returns {dtype: descr string, ort: ORT type, shape: number[], data: TypedArray}.
function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') fail(path, 'not a .npy file');
  const major = buf[6];
  let headerLen;
  let offset;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) fail(path, 'truncated .npy header');
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    fail(path, `unsupported .npy version ${major}`);
  }
  if (offset + headerLen > buf.length) fail(path, 'truncated .npy header');
  const { descr, shape } = parseHeader(path, buf.toString('latin1', offset, offset + headerLen));
  const t = DTYPES[descr];
  if (!t) fail(path, `unsupported dtype '${descr}'`);
  const count = shape.reduce((a, b) => a * b, 1);
  const start = offset + headerLen;
  const bytes = count * t.array.BYTES_PER_ELEMENT;
  if (buf.length - start < bytes) fail(path, `truncated data: expected ${bytes} bytes, found ${buf.length - start}`);
  // Copy into a fresh, aligned buffer.
  const data = new t.array(count);
  new Uint8Array(data.buffer).set(buf.subarray(start, start + bytes));
  return { dtype: descr, ort: t.ort, shape, data };
}

function descrOf(data, ortType) {
  if (ortType === 'bool') return '|b1';
  for (const [descr, t] of Object.entries(DTYPES)) {
    if (descr !== '|b1' && data instanceof t.array) return descr;
  }
  throw new Error(`npy: cannot write a ${data.constructor.name}`);
}

// Writes a version-1 .npy file; the write goes to a temporary file first.
function writeNpy(path, data, shape, ortType) {
  const descr = descrOf(data, ortType);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const tmp = `${path}.tmp${process.pid}`;
  fs.writeFileSync(tmp, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
  fs.renameSync(tmp, path);
}

module.exports = { readNpy, writeNpy };
