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

/** The largest header the format allows (safetensors refuses larger ones). */
const MAX_HEADER = 100_000_000;

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** One header entry, checked: a dtype, a shape of whole numbers, two whole-number offsets in order. */
function checkEntry(path: string, name: string, raw: unknown): HeaderEntry {
  const bad = (what: string) => new Error(`${path} is damaged: tensor ${JSON.stringify(name)} ${what}.`);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw bad("has no {dtype, shape, data_offsets} entry");
  const e = raw as Partial<HeaderEntry>;
  if (typeof e.dtype !== "string") throw bad("has no dtype");
  if (!Array.isArray(e.shape) || !e.shape.every(isCount)) throw bad(`has the shape ${JSON.stringify(e.shape)}, not a list of whole numbers`);
  const offsets = e.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw bad(`has the data offsets ${JSON.stringify(offsets)}, not two whole numbers [begin, end] with begin <= end`);
  }
  return e as HeaderEntry;
}

/**
 * Reads a .safetensors file's bytes; `path` names the file in every error. Only float32 tensors are read. The layout
 * is checked as the format requires (and PyTorch's reader checks it): whole-number offsets, each tensor's bytes those
 * of its shape, the tensors back to back from the start of the data to its end, none overlapping another.
 */
export function decodeSafetensors(bytes: Buffer, path: string): Decoded {
  if (bytes.length < 8) throw new Error(`${path} is not a safetensors file: it has ${bytes.length} bytes, fewer than the 8 of the header length.`);
  const n = Number(bytes.readBigUInt64LE(0));
  if (n > MAX_HEADER || 8 + n > bytes.length) throw new Error(`${path} is not a safetensors file, or is truncated: its header length (${n} bytes) runs past the end of the file (${bytes.length} bytes).`);
  let header: unknown;
  try {
    header = JSON.parse(bytes.toString("utf8", 8, 8 + n));
  } catch (err) {
    throw new Error(`${path} is damaged: its safetensors header is not valid JSON (${(err as Error).message}).`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) throw new Error(`${path} is damaged: its safetensors header is not a JSON object.`);
  const { __metadata__: metadata = {}, ...rest } = header as Record<string, unknown>;
  if (metadata === null || typeof metadata !== "object" || !Object.values(metadata).every((v) => typeof v === "string")) {
    throw new Error(`${path} is damaged: its __metadata__ must map names to strings.`);
  }
  const entries = Object.entries(rest).map(([name, raw]) => [name, checkEntry(path, name, raw)] as const);
  const dataLength = bytes.length - 8 - n;
  let end = 0;
  for (const [name, e] of [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1])) {
    const [begin, stop] = e.data_offsets;
    if (begin !== end) {
      throw new Error(`${path} is damaged: tensor ${JSON.stringify(name)} starts at byte ${begin} of the data, where ${begin < end ? "the tensor before it still runs (they overlap)" : `the tensor before it ended at ${end} (a gap)`}.`);
    }
    end = stop;
  }
  if (end !== dataLength) throw new Error(`${path} is damaged, or truncated: its tensors cover ${end} bytes of data, the file holds ${dataLength}.`);
  const tensors: Decoded["tensors"] = new Map();
  const dataStart = 8 + n;
  for (const [name, e] of entries) {
    if (e.dtype !== "F32") {
      throw new Error(`${path}: tensor ${name} is ${e.dtype}; this library reads float32 (F32) only. In PyTorch, save {k: v.float() for k, v in state_dict.items()}.`);
    }
    const [begin, stop] = e.data_offsets;
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (stop - begin !== 4 * count) {
      throw new Error(`${path} is damaged: tensor ${JSON.stringify(name)} of shape (${e.shape}) needs ${4 * count} bytes, its offsets give ${stop - begin}.`);
    }
    const copy = new Float32Array(count);
    Buffer.from(copy.buffer).set(bytes.subarray(dataStart + begin, dataStart + stop));
    tensors.set(name, { shape: e.shape, data: copy });
  }
  return { tensors, metadata: metadata as Record<string, string> };
}
