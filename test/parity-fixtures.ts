/**
 * The parity fixtures (test/fixtures/parity.json + parity.bin, written by reference/pytorch_reference.py): PyTorch's
 * modules' weights, inputs, outputs and gradients, and the library's module for each case. Read by test/parity.test.ts
 * (the library against PyTorch) and test/webgpu.test.ts (the webgpu backend against the cpu backend).
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  BigramLanguageModel, Block, CausalSelfAttention, FeedForward, GPTLanguageModel, Head, LayerNorm,
  Module, MultiHeadAttention, MultiHeadLanguageModel, Rng, SingleHeadLanguageModel,
} from "@build-gpt/lib/internal";

export interface Ref { offset: number; shape: number[] }
export interface Named { name: string; shape: number[] }
export interface Case {
  name: string;
  kind: "model" | "module";
  module: string;
  config: Record<string, any>;
  parameters: Named[];
  num_parameters: number;
  params: Record<string, Ref>;
  grads: Record<string, Ref>;
  // models
  idx?: number[][];
  targets?: number[][];
  logits?: Ref;
  loss?: Ref;
  adamw?: { lr: number; betas: [number, number]; eps: number; weight_decay: number };
  after_adamw?: Record<string, Ref>;
  // modules on their own: y = module(x), objective = sum(y * probe)
  x?: Ref;
  probe?: Ref;
  y?: Ref;
  objective?: Ref;
  grad_x?: Ref;
}
export interface FullSize { name: string; config: Record<string, any>; parameters: Named[]; num_parameters: number; state_dict_buffers: string[] }

const fixtures = path.resolve(__dirname, "..", "..", "test", "fixtures");
export const manifest = JSON.parse(readFileSync(path.join(fixtures, "parity.json"), "utf8")) as { cases: Case[]; full_size: FullSize[] };
const bytes = readFileSync(path.join(fixtures, "parity.bin"));
const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));

export const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
export const values = (ref: Ref) => floats.subarray(ref.offset, ref.offset + size(ref.shape));
export const tensor = (ref: Ref) => tf.tensor(values(ref), ref.shape);
export const stateDict = (refs: Record<string, Ref>) => Object.fromEntries(Object.entries(refs).map(([n, r]) => [n, tensor(r)]));

/** The library's module for a case, built from the PyTorch constructor's arguments. */
export function build(c: Case): Module {
  const k = c.config;
  switch (c.module) {
    case "LayerNorm": return new LayerNorm(k.normalized_shape);
    case "Head": return new Head(k.n_embd, k.head_size);
    case "MultiHeadAttention": return new MultiHeadAttention(k.n_embd, k.num_heads, k.head_size);
    case "FeedForward": return new FeedForward(k.n_embd);
    case "Block": return new Block(k.n_embd, k.n_head, { attention: k.attention ?? "heads" });
    case "CausalSelfAttention": return new CausalSelfAttention(k.n_embd, k.n_head);
    case "BigramLanguageModel": return new BigramLanguageModel(k.vocab_size, new Rng(1));
    case "SingleHeadLanguageModel": return new SingleHeadLanguageModel({ vocabSize: k.vocab_size, blockSize: k.block_size, nEmbd: k.n_embd }, new Rng(1));
    case "MultiHeadLanguageModel":
      return new MultiHeadLanguageModel({ vocabSize: k.vocab_size, blockSize: k.block_size, nEmbd: k.n_embd, nHead: k.n_head, feedForward: true }, new Rng(1));
    case "GPTLanguageModel": return new GPTLanguageModel(gptConfig(k), new Rng(1));
    default: throw new Error(`no library module for the fixture's ${c.module}`);
  }
}

export const gptConfig = (k: Record<string, any>) => ({
  vocabSize: k.vocab_size, blockSize: k.block_size, nEmbd: k.n_embd, nHead: k.n_head, nLayer: k.n_layer,
  dropout: k.dropout ?? 0, attention: k.attention ?? "heads", init: k.init ?? "gpt",
});

