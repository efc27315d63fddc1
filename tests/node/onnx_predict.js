// Runs an ONNX model that mlpipe exported over a CSV file (a header row, no
// quoted fields) in ONNX Runtime, and prints what `mlpipe predict` prints:
// the class and each class's probability, or the value, one row per example.
//
//   node onnx_predict.js MODEL.onnx INPUT.csv
//
// The input names come from the model's own metadata (metadata_props:
// 'numbers', 'strings', 'classes'), read here with a small protobuf reader
// of our own, so the test also checks how the file is encoded.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function varint(buf, pos) {
  let v = 0n, shift = 0n;
  for (;;) {
    const b = buf[pos++];
    v |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [v, pos];
    shift += 7n;
  }
}

// The fields of one message: [number, wire type, value or bytes].
function fields(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    let key, v;
    [key, pos] = varint(buf, pos);
    const field = Number(key >> 3n), wire = Number(key & 7n);
    if (wire === 0) {
      [v, pos] = varint(buf, pos);
    } else if (wire === 2) {
      let n;
      [n, pos] = varint(buf, pos);
      v = buf.subarray(pos, pos + Number(n));
      pos += Number(n);
    } else if (wire === 5) {
      v = buf.subarray(pos, pos + 4);
      pos += 4;
    } else if (wire === 1) {
      v = buf.subarray(pos, pos + 8);
      pos += 8;
    } else {
      throw new Error(`wire type ${wire} at byte ${pos}`);
    }
    out.push([field, wire, v]);
  }
  return out;
}

function metadata(model) {
  const meta = {};
  for (const [f, , v] of fields(model)) {
    if (f !== 14) continue; // ModelProto.metadata_props
    let key = '', value = '';
    for (const [g, , w] of fields(v)) {
      if (g === 1) key = w.toString();
      if (g === 2) value = w.toString();
    }
    meta[key] = value === '' ? [] : value.split('\n');
  }
  return meta;
}

function fmt(x) {
  return Number(x.toPrecision(9)).toString();
}

async function main() {
  const [modelPath, csvPath] = process.argv.slice(2);
  const model = fs.readFileSync(modelPath);
  const meta = metadata(model);
  const lines = fs.readFileSync(csvPath, 'utf8').split('\n').filter((l) => l.length);
  const header = lines[0].split(',');
  const col = (name) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${csvPath} has no column ${name}`);
    return i;
  };
  const numCols = meta.numbers.map(col), strCols = meta.strings.map(col);
  const rows = lines.slice(1).map((l) => l.split(','));
  const na = new Set(['', 'NA', 'N/A', '#N/A', 'NULL', 'null']);
  const feeds = {};
  if (numCols.length) {
    const x = new Float32Array(rows.length * numCols.length);
    rows.forEach((r, i) => numCols.forEach((c, k) => {
      x[i * numCols.length + k] = na.has(r[c].trim()) ? NaN : parseFloat(r[c]);
    }));
    feeds.numbers = new ort.Tensor('float32', x, [rows.length, numCols.length]);
  }
  if (strCols.length) {
    const s = [];
    rows.forEach((r) => strCols.forEach((c) => s.push(na.has(r[c]) ? '' : r[c])));
    feeds.strings = new ort.Tensor('string', s, [rows.length, strCols.length]);
  }
  const session = await ort.InferenceSession.create(model);
  const out = await session.run(feeds);
  const lines_out = [];
  if (out.probabilities) {
    const p = out.probabilities.data, c = meta.classes.length, label = out.label.data;
    lines_out.push(['class', ...meta.classes.map((n) => 'p_' + n)].join(','));
    for (let i = 0; i < rows.length; i++) {
      const probs = Array.from(p.subarray(i * c, (i + 1) * c)).map(fmt);
      lines_out.push([meta.classes[Number(label[i])], ...probs].join(','));
    }
  } else {
    const v = out.value.data, w = out.value.dims[1];
    lines_out.push(w === 1 ? 'value' : Array.from({ length: w }, (_, k) => 'value' + k).join(','));
    for (let i = 0; i < rows.length; i++) lines_out.push(Array.from(v.subarray(i * w, (i + 1) * w)).map(fmt).join(','));
  }
  process.stdout.write(lines_out.join('\n') + '\n');
}

main().catch((e) => {
  process.stderr.write(`onnx_predict: ${e.message}\n`);
  process.exit(1);
});
