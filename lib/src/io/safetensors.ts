/**
 * The safetensors format (huggingface/safetensors), float32 tensors: an 8-byte little-endian header length N, N bytes
 * of JSON ({ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { key: "string" } }, padded with
 * spaces to a multiple of 8), then the tensors' bytes. PyTorch reads it with safetensors.torch.load_file.
 * The format is small enough that writing it here beats a dependency.
 */

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** The tensors, in the order given, with string metadata, as the bytes of a .safetensors file. */
export function encodeSafetensors(tensors: NamedArray[], metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, HeaderEntry | Record<string, string>> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`safetensors: ${t.name} has shape (${t.shape}) but ${t.data.length} values.`);
    header[t.name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let at = 8 + head.length;
  for (const t of tensors) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, at);
    at += t.data.byteLength;
  }
  return out;
}

export interface Decoded {
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  metadata: Record<string, string>;
}

/** Reads a .safetensors file's bytes; `path` names the file in every error. Only float32 tensors are read. */
export function decodeSafetensors(bytes: Buffer, path: string): Decoded {
  if (bytes.length < 8) throw new Error(`${path} is not a safetensors file: it has ${bytes.length} bytes, fewer than the 8 of the header length.`);
  const n = Number(bytes.readBigUInt64LE(0));
  if (8 + n > bytes.length) throw new Error(`${path} is not a safetensors file, or is truncated: its header length (${n} bytes) runs past the end of the file (${bytes.length} bytes).`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(bytes.toString("utf8", 8, 8 + n));
  } catch (err) {
    throw new Error(`${path} is damaged: its safetensors header is not valid JSON (${(err as Error).message}).`);
  }
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors: Decoded["tensors"] = new Map();
  const dataStart = 8 + n;
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const e = raw as HeaderEntry;
    if (e.dtype !== "F32") {
      throw new Error(`${path}: tensor ${name} is ${e.dtype}; this library reads float32 (F32) only. In PyTorch, save {k: v.float() for k, v in state_dict.items()}.`);
    }
    const [begin, end] = e.data_offsets;
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (end - begin !== 4 * count || dataStart + end > bytes.length) {
      throw new Error(`${path} is damaged: tensor ${name} (${e.shape}) should take ${4 * count} bytes at ${begin}..${end}, and the file holds ${bytes.length - dataStart} bytes of data.`);
    }
    const copy = new Float32Array(count);
    Buffer.from(copy.buffer).set(bytes.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, { shape: e.shape, data: copy });
  }
  return { tensors, metadata };
}
