// How big the worker's wasm is, and in what: the whole file, its code section (the functions)
// and its data section (constant tables and strings: Unicode's, for the name checks, are most
// of it), each raw and gzipped at level 9, as a Worker upload is compressed.
import { gzipSync } from "node:zlib";

const CODE = 10;
const DATA = 11;

/** { raw, gzip, code: { raw, gzip }, data: { raw, gzip } } of a wasm module's bytes. */
export function wasmSize(bytes) {
  const sized = (part) => ({ raw: part.length, gzip: gzipSync(part, { level: 9 }).length });
  const sections = {};
  let at = 8; // after the magic number and the version
  while (at < bytes.length) {
    const id = bytes[at++];
    const [size, start] = leb128(bytes, at);
    sections[id] = bytes.subarray(start, start + size);
    at = start + size;
  }
  return { ...sized(bytes), code: sized(sections[CODE] ?? Buffer.alloc(0)), data: sized(sections[DATA] ?? Buffer.alloc(0)) };
}

/** An unsigned LEB128 number at `at`: [value, the offset after it]. */
function leb128(bytes, at) {
  let value = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, at];
  }
}
