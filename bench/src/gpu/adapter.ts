#!/usr/bin/env node
/**
 * The GPU run's first check (scripts/gpu-run.sh): starts the webgpu backend and prints the adapter Dawn found (vendor,
 * architecture, device), or exits with status 1 and the reason. A software adapter (SwiftShader) is refused unless
 * --allow-software (the rehearsal).
 *   node bench/dist/gpu/adapter.js [--allow-software] [--results DIR]
 */
import { parseCommand, runMain, startWebGPU, type CommandSpec } from "@build-gpt/lib/internal";
import { partHelp, writeResult, type AdapterResult } from "./results";

const ADAPTER_COMMAND: CommandSpec = {
  name: "gpu:adapter",
  summary: "Prints the GPU adapter the webgpu backend runs on, or why there is none.",
  options: {
    "allow-software": { type: "boolean", help: "accept a software adapter (SwiftShader: the rehearsal)" },
    results: { type: "string", arg: "DIR", help: "write adapter.json there" },
  },
};

async function main(): Promise<void> {
  const args = parseCommand(process.argv.slice(2), ADAPTER_COMMAND);
  if (args.help) return console.log(partHelp(ADAPTER_COMMAND, "node bench/dist/gpu/adapter.js [options]"));
  const start = await startWebGPU({ acceptSoftware: args.values["allow-software"] === true });
  if (!start.ok) {
    console.error(`no GPU adapter: ${start.reason}`);
    process.exitCode = 1;
    return;
  }
  const a = start.adapter;
  console.log(`adapter: vendor ${a.vendor || "(not given)"}, architecture ${a.architecture || "(not given)"}, device ${a.device || "(not given)"}${a.description ? `, ${a.description}` : ""}${a.software ? " — software" : ""}`);
  console.log(start.line);
  const result: AdapterResult = { ...a, line: start.line };
  if (args.values.results) writeResult(args.values.results as string, "adapter.json", result);
}

if (require.main === module) runMain(main);
