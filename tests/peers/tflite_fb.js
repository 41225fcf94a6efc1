// tflite_fb.js: reads the input/output tensor descriptions of a .tflite file
// (name, type, shape, quantization of subgraph 0) straight from the
// FlatBuffer, by the schema's field numbers (docs/tflite-format.md). LiteRT.js
// does not expose quantization parameters, so the peer reads them here.
// Test peer only; depends on nothing (a Buffer in, plain objects out).
'use strict';

// TensorType values -> names (the schema's enum).
const TENSOR_TYPES = {
  0: 'float32', 1: 'float16', 2: 'int32', 3: 'uint8', 4: 'int64', 5: 'string', 6: 'bool',
  7: 'int16', 9: 'int8', 10: 'float64', 15: 'uint32', 16: 'uint16', 17: 'int4',
};

// A bounds-checked view of one FlatBuffer table.
class Table {
  constructor(buf, pos, what) {
    this.buf = buf;
    this.pos = pos;
    this.what = what;
    this.check(pos, 4);
    const vt = pos - buf.readInt32LE(pos);
    this.check(vt, 4);
    this.vt = vt;
    this.vtSize = buf.readUInt16LE(vt);
    this.check(vt, this.vtSize);
  }

  check(pos, bytes) {
    if (pos < 0 || pos + bytes > this.buf.length) {
      throw new Error(`corrupt .tflite: ${this.what} points outside the file`);
    }
  }

  // Absolute position of field n, or -1 when absent.
  field(n) {
    const at = 4 + 2 * n;
    if (at + 2 > this.vtSize) return -1;
    const off = this.buf.readUInt16LE(this.vt + at);
    return off === 0 ? -1 : this.pos + off;
  }

  // Follows the uoffset stored at field n; -1 when absent.
  ref(n) {
    const p = this.field(n);
    if (p < 0) return -1;
    this.check(p, 4);
    return p + this.buf.readUInt32LE(p);
  }

  scalar(n, reader, size, dflt) {
    const p = this.field(n);
    if (p < 0) return dflt;
    this.check(p, size);
    return reader.call(this.buf, p);
  }

  table(n, what) {
    const p = this.ref(n);
    return p < 0 ? null : new Table(this.buf, p, what);
  }

  string(n) {
    const p = this.ref(n);
    if (p < 0) return '';
    this.check(p, 4);
    const len = this.buf.readUInt32LE(p);
    this.check(p + 4, len);
    return this.buf.toString('utf8', p + 4, p + 4 + len);
  }

  // Vector of scalars at field n as a plain array.
  vector(n, reader, size) {
    const p = this.ref(n);
    if (p < 0) return [];
    this.check(p, 4);
    const len = this.buf.readUInt32LE(p);
    this.check(p + 4, len * size);
    const out = [];
    for (let i = 0; i < len; i++) out.push(reader.call(this.buf, p + 4 + i * size));
    return out;
  }

  // Vector of tables at field n.
  tables(n, what) {
    const p = this.ref(n);
    if (p < 0) return [];
    this.check(p, 4);
    const len = this.buf.readUInt32LE(p);
    this.check(p + 4, len * 4);
    const out = [];
    for (let i = 0; i < len; i++) {
      const e = p + 4 + 4 * i;
      out.push(new Table(this.buf, e + this.buf.readUInt32LE(e), `${what}[${i}]`));
    }
    return out;
  }
}

const B = Buffer.prototype;
const readI64 = function (p) { return Number(this.readBigInt64LE(p)); };

function describeTensor(t, index) {
  const q = t.table(4, `tensor ${index} quantization`);
  const scale = q ? q.vector(2, B.readFloatLE, 4) : [];
  const desc = {
    name: t.string(3),
    tensor: index,
    type: TENSOR_TYPES[t.scalar(1, B.readInt8, 1, 0)] || `type ${t.scalar(1, B.readInt8, 1, 0)}`,
    shape: t.vector(0, B.readInt32LE, 4),
  };
  if (scale.length > 0) {
    desc.quantization = {
      scale,
      zero_point: q.vector(3, readI64, 8),
      quantized_dimension: q.scalar(6, B.readInt32LE, 4, 0),
    };
  }
  return desc;
}

// {inputs, outputs, custom_ops} of subgraph 0; each tensor as
// {name, tensor, type, shape, quantization?: {scale[], zero_point[], quantized_dimension}}.
function readTfliteIo(buf, source) {
  try {
    if (buf.length < 8 || buf.toString('latin1', 4, 8) !== 'TFL3') throw new Error('not a TFLite file (no TFL3 identifier)');
    const model = new Table(buf, buf.readUInt32LE(0), 'model');
    const subgraphs = model.tables(2, 'subgraph');
    if (subgraphs.length === 0) throw new Error('no subgraph');
    const sg = subgraphs[0];
    const tensors = sg.tables(0, 'tensor');
    const pick = (indices) => indices.map((i) => {
      if (i < 0 || i >= tensors.length) throw new Error(`graph I/O tensor index ${i} out of range`);
      return describeTensor(tensors[i], i);
    });
    const custom = model.tables(1, 'operator_code').map((c) => c.string(1)).filter((s) => s.length > 0);
    return { inputs: pick(sg.vector(1, B.readInt32LE, 4)), outputs: pick(sg.vector(2, B.readInt32LE, 4)), custom_ops: custom };
  } catch (e) {
    throw new Error(`${source}: ${e.message}`);
  }
}

module.exports = { readTfliteIo };
