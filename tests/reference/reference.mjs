#!/usr/bin/env node
// The reference for ggufd's tests and benchmarks: llama.cpp, through the
// prebuilt CPU libraries that node-llama-cpp@3.21.1 ships. Every subcommand
// prints exactly one JSON document on stdout; diagnostics go to stderr; any
// failure exits non-zero. The contract is in tests/reference/README.md.
//
//   tokenize       --model F [--no-bos] [--parse-special]        stdin: ["text", ...]
//   greedy         --model F --n N [--ctx C] [--threads T] [--top K] [--prompt-ids]
//                                                                stdin: ["prompt", ...] or [[ids], ...]
//   bench-tokenize --model F --file TEXTFILE [--repeat R]
//   bench-speed    --model F --threads T [--pp 512] [--tg 128] [--repeat R]
//   greedy-grammar --model F --n N [--ctx C] [--threads T]      stdin: [{"prompt", "grammar"|"json_schema"}, ...]
//   bench-grammar  --model F --threads T --n N [--repeat R]     stdin: {"prompt", "grammar"|"json_schema"}
//   embed          --model F [--ctx C] [--threads T]            stdin: ["text", ...]
//   bench-embed    --model F --threads T [--repeat R]           stdin: ["text", ...]

import fs from "node:fs";
import os from "node:os";
import {getLlama, LlamaGrammarEvaluationState, LlamaLogLevel} from "node-llama-cpp";

const USAGE = `usage: reference.mjs <subcommand> --model FILE [options]
  tokenize       [--no-bos] [--parse-special]            stdin: JSON array of strings
  greedy         --n N [--ctx C] [--threads T] [--top K] [--prompt-ids]
                                                         stdin: JSON array of prompts (or of id arrays)
  bench-tokenize --file TEXTFILE [--repeat R]
  bench-speed    --threads T [--pp 512] [--tg 128] [--repeat R]
  greedy-grammar --n N [--ctx C] [--threads T]          stdin: JSON array of {"prompt", "grammar" or "json_schema"}
  bench-grammar  --threads T --n N [--repeat R]         stdin: one {"prompt", "grammar" or "json_schema"}
  embed          [--ctx C] [--threads T]                 stdin: JSON array of strings
  bench-embed    --threads T [--repeat R]                stdin: JSON array of strings`;

// Options each subcommand accepts: name -> "flag" (no value) or "int"/"string".
const SUBCOMMANDS = {
  "tokenize": {"model": "string", "no-bos": "flag", "parse-special": "flag"},
  "greedy": {
    "model": "string", "n": "int", "ctx": "int", "threads": "int", "top": "int",
    "prompt-ids": "flag",
  },
  "bench-tokenize": {"model": "string", "file": "string", "repeat": "int"},
  "bench-speed": {"model": "string", "threads": "int", "pp": "int", "tg": "int", "repeat": "int"},
  "greedy-grammar": {"model": "string", "n": "int", "ctx": "int", "threads": "int"},
  "bench-grammar": {"model": "string", "threads": "int", "n": "int", "repeat": "int"},
  "embed": {"model": "string", "ctx": "int", "threads": "int"},
  "bench-embed": {"model": "string", "threads": "int", "repeat": "int"},
};

class UsageError extends Error {}

// Parses `--name value` / `--name=value` / `--flag` against the subcommand's
// option table; unknown options are errors so a typo never goes unnoticed.
function parseArgs(argv) {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h") throw new UsageError("no subcommand");
  const spec = SUBCOMMANDS[sub];
  if (spec === undefined) throw new UsageError(`unknown subcommand '${sub}'`);
  const opts = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument '${arg}'`);
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2);
    const kind = spec[name];
    if (kind === undefined) throw new UsageError(`unknown option --${name} for ${sub}`);
    if (kind === "flag") {
      if (value !== undefined) throw new UsageError(`--${name} takes no value`);
      opts[name] = true;
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= rest.length) throw new UsageError(`--${name} needs a value`);
      value = rest[++i];
    }
    if (kind === "int") {
      if (!/^[0-9]+$/.test(value)) throw new UsageError(`--${name} must be a non-negative integer`);
      opts[name] = Number.parseInt(value, 10);
    } else {
      opts[name] = value;
    }
  }
  if (opts.model === undefined) throw new UsageError("--model is required");
  return {sub, opts};
}

function requirePositive(opts, name, fallback) {
  const v = opts[name] ?? fallback;
  if (v === undefined) throw new UsageError(`--${name} is required`);
  if (!(v > 0)) throw new UsageError(`--${name} must be positive`);
  return v;
}

async function readStdinJson() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`stdin is not valid JSON: ${e.message}`);
  }
}

function writeJson(value) {
  return new Promise((resolve, reject) => {
    process.stdout.write(JSON.stringify(value) + "\n", (err) => (err ? reject(err) : resolve()));
  });
}

// Loads the prebuilt CPU backend only: never builds llama.cpp from source and
// never downloads anything, so a missing binary is an error, not a surprise
// 10-minute compile.
async function loadLlama(maxThreads) {
  return getLlama({
    gpu: false,
    build: "never",
    skipDownload: true,
    usePrebuiltBinaries: true,
    progressLogs: false,
    maxThreads: maxThreads ?? 0,
    logLevel: LlamaLogLevel.warn,
    // The default logger may print to stdout, which must hold only our JSON.
    logger: (level, message) => process.stderr.write(`[llama.cpp ${level}] ${message.trimEnd()}\n`),
  });
}

// llama.cpp's add_special: BOS when the model says add_bos, EOS when it says
// add_eos. node-llama-cpp's tokenize() never adds either (it calls
// common_tokenize with add_special=false), so we add them here.
function tokenizeLikeLlamaCpp(model, text, addSpecial, parseSpecial) {
  const ids = text === "" ? [] : model.tokenize(text, parseSpecial);
  if (!addSpecial) return ids;
  const out = [];
  if (model.tokens.shouldPrependBosToken && model.tokens.bos != null) out.push(model.tokens.bos);
  out.push(...ids);
  if (model.tokens.shouldAppendEosToken && model.tokens.eos != null) out.push(model.tokens.eos);
  return out;
}

// node-llama-cpp has no vocabulary-size accessor; the GGUF metadata has it.
function vocabSize(model) {
  const n = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length;
  if (!(n > 0)) throw new Error("cannot read the vocabulary size from the model");
  return n;
}

function requireStringArray(input) {
  if (!Array.isArray(input) || !input.every((s) => typeof s === "string")) {
    throw new Error("stdin must be a JSON array of strings");
  }
  return input;
}

async function cmdTokenize(llama, opts) {
  const texts = requireStringArray(await readStdinJson());
  const model = await llama.loadModel({modelPath: opts.model, vocabOnly: true});
  const addSpecial = !opts["no-bos"];
  const parseSpecial = Boolean(opts["parse-special"]);
  return texts.map((t) => tokenizeLikeLlamaCpp(model, t, addSpecial, parseSpecial));
}

// Turns node-llama-cpp's probability map into exact-as-possible log-softmax
// values of the raw logits, best first (ties by ascending id).
//
// With temperature 0 the sampler chain is only llama.cpp's greedy sampler,
// which does not touch the logits, so the addon's probabilities are
// softmax(raw logits) computed in float32: p_i = expf(l_i - max) / S, with S
// summed in float32 over the whole vocabulary. That sum is off by up to ~1e-4
// relative on a 49k vocabulary (we measured 2.3e-4 on SmolLM2), so we
// renormalize in double: log p_i - log(sum_j p_j) cancels S exactly and leaves
// only the per-entry float32 rounding of expf and of the division. The result
// matches log_softmax(logits) to about 1e-6 absolute for any p_i above float32's
// underflow (~1e-38); an entry whose probability underflowed to 0 is reported
// as null (no JSON number for -inf).
function topLogprobs(probabilities, k) {
  let total = 0;
  for (const p of probabilities.values()) total += p;
  const logTotal = Math.log(total);
  const entries = [...probabilities.entries()];
  entries.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  return entries.slice(0, k).map(([id, p]) => [id, p > 0 ? Math.log(p) - logTotal : null]);
}

// Generate options that make llama.cpp pick argmax(logits): temperature 0
// selects the greedy sampler. Sequence-level evaluation applies no repeat
// penalty unless punishTokens are given (the repeatPenalty default of 1.1 lives
// in LlamaChatSession/LlamaCompletion, which we do not use), and no token bias.
const GREEDY = {temperature: 0};

// Feeds `token` and then each sampled token back in, returning the next
// `count` greedy ids. It goes past end-of-generation tokens (yieldEogToken),
// because callers want exactly `count` ids. One sampler serves all steps,
// which is much cheaper than a controlledEvaluate() call per token.
async function generate(sequence, token, count) {
  const ids = [];
  if (count <= 0) return ids;
  for await (const id of sequence.evaluate([token], {...GREEDY, yieldEogToken: true})) {
    ids.push(id);
    if (ids.length === count) break;
  }
  if (ids.length !== count) throw new Error(`generation stopped after ${ids.length} of ${count} tokens`);
  return ids;
}

async function cmdGreedy(llama, opts) {
  const n = requirePositive(opts, "n");
  const topK = opts.top ?? 20;
  const input = await readStdinJson();
  if (!Array.isArray(input)) throw new Error("stdin must be a JSON array");
  const model = await llama.loadModel({modelPath: opts.model});

  let prompts;
  if (opts["prompt-ids"]) {
    const nVocab = vocabSize(model);
    prompts = input.map((ids, i) => {
      if (!Array.isArray(ids) || !ids.every((t) => Number.isInteger(t) && t >= 0 && t < nVocab)) {
        throw new Error(`prompt ${i} is not an array of token ids below ${nVocab}`);
      }
      return ids;
    });
  } else {
    prompts = requireStringArray(input).map((t) => tokenizeLikeLlamaCpp(model, t, true, true));
  }
  prompts.forEach((ids, i) => {
    if (ids.length === 0) throw new Error(`prompt ${i} has no tokens`);
  });

  const longest = Math.max(0, ...prompts.map((p) => p.length));
  const needed = longest + n;
  const contextSize = opts.ctx ?? Math.min(model.trainContextSize, Math.max(2048, needed));
  // A context shift would silently drop the start of the sequence; refuse instead.
  if (needed > contextSize) {
    throw new Error(`a prompt of ${longest} tokens plus --n ${n} needs ${needed} positions; --ctx is ${contextSize}`);
  }
  const context = await model.createContext({
    contextSize,
    sequences: 1,
    // One thread by default: llama.cpp's workers spin-wait at barriers, so
    // with as many threads as cores a busy machine (parallel builds, other
    // tests) slows it down 20x; the logits do not depend on the thread count.
    threads: opts.threads ?? 1,
    // One fixed attention path so results do not change with llama.cpp's
    // "auto" heuristics.
    flashAttention: false,
  });
  const sequence = context.getSequence();

  const results = [];
  for (const promptIds of prompts) {
    await sequence.clearHistory();
    const last = promptIds.length - 1;
    const first = await sequence.controlledEvaluate(promptIds.map((id, i) => (
      i === last ? [id, {generateNext: {token: true, probabilities: true, options: GREEDY}}] : id)));
    const next = first[last]?.next;
    if (next?.token == null || next.probabilities == null) throw new Error("no logits at the last prompt position");
    const ids = [next.token];
    if (n > 1) ids.push(...await generate(sequence, next.token, n - 1));
    results.push({prompt_ids: promptIds, ids, top: topLogprobs(next.probabilities, topK)});
  }
  return results;
}

async function cmdBenchTokenize(llama, opts) {
  if (opts.file === undefined) throw new UsageError("--file is required");
  const repeat = requirePositive(opts, "repeat", 3);
  const bytes = fs.readFileSync(opts.file);
  // Invalid UTF-8 becomes U+FFFD, as everywhere else in this tool.
  const text = new TextDecoder("utf-8", {fatal: false}).decode(bytes);
  const model = await llama.loadModel({modelPath: opts.model, vocabOnly: true});
  // The timed call includes node-llama-cpp's JS-to-UTF-8 string copy, which is
  // negligible next to tokenization but not zero.
  let best = Infinity;
  for (let r = 0; r < repeat; r++) {
    const t0 = process.hrtime.bigint();
    model.tokenize(text, false);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.min(best, seconds);
  }
  return {bytes: bytes.length, seconds: best, mb_per_s: bytes.length / 1e6 / best};
}

// Deterministic token ids for benchmark prompts (llama-bench also feeds
// random ids; what they are does not change the work done).
function pseudoRandomIds(count, nVocab, seed) {
  const ids = [];
  let x = seed >>> 0;
  for (let i = 0; i < count; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    ids.push(x % nVocab);
  }
  return ids;
}

// Prefill (pp) and decode (tg) speed in the manner of llama-bench: pp tokens
// in batches of up to 512 with logits for the last one only; then, on an empty
// sequence, tg single-token steps, each sampling greedily from the logits. Best
// of R runs after one warm-up run.
async function cmdBenchSpeed(llama, opts) {
  const threads = requirePositive(opts, "threads");
  const pp = requirePositive(opts, "pp", 512);
  const tg = requirePositive(opts, "tg", 128);
  const repeat = requirePositive(opts, "repeat", 3);
  const model = await llama.loadModel({modelPath: opts.model});
  const nVocab = vocabSize(model);
  const context = await model.createContext({
    contextSize: Math.max(pp, tg + 1),
    batchSize: Math.min(pp, 512),
    sequences: 1,
    threads,
    flashAttention: false,
  });
  const sequence = context.getSequence();
  const prompt = pseudoRandomIds(pp, nVocab, 42);
  const greedyNext = {generateNext: {token: true, options: GREEDY}};

  const runPrefill = async () => {
    await sequence.clearHistory();
    const t0 = process.hrtime.bigint();
    await sequence.controlledEvaluate(prompt.map((id, i) => (i === pp - 1 ? [id, greedyNext] : id)));
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const runDecode = async () => {
    await sequence.clearHistory();
    const t0 = process.hrtime.bigint();
    await generate(sequence, prompt[0], tg);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };

  await runPrefill();
  await runDecode();
  let bestPp = Infinity;
  let bestTg = Infinity;
  for (let r = 0; r < repeat; r++) {
    bestPp = Math.min(bestPp, await runPrefill());
    bestTg = Math.min(bestTg, await runDecode());
  }
  return {pp_tokens_per_s: pp / bestPp, tg_tokens_per_s: tg / bestTg, threads};
}

// node-llama-cpp's embedding context (LlamaEmbeddingContext) on `texts`: the
// context size fits the longest text (it refuses inputs of contextSize
// tokens or more), with the fixed attention path the other subcommands use.
async function embeddingContextFor(llama, opts, texts) {
  const model = await llama.loadModel({modelPath: opts.model, defaultContextFlashAttention: false});
  const longest = Math.max(1, ...texts.map((t) => tokenizeLikeLlamaCpp(model, t, true, false).length));
  const contextSize = opts.ctx ?? Math.min(model.trainContextSize, Math.max(2048, longest + 1));
  const context = await model.createEmbeddingContext({contextSize, threads: opts.threads ?? 1});
  return {model, context};
}

// One {"ids", "vector"} per text: the tokens the context evaluates (its own
// rule: tokenize without special-token parsing, then BOS/EOS as the model's
// add_bos/add_eos say) and the raw vector getEmbeddingFor returns (the
// pooled or last final-norm hidden state; not normalized; [] for "").
async function cmdEmbed(llama, opts) {
  const texts = requireStringArray(await readStdinJson());
  const {model, context} = await embeddingContextFor(llama, opts, texts);
  const results = [];
  for (const text of texts) {
    const embedding = await context.getEmbeddingFor(text);
    const ids = text === "" ? [] : tokenizeLikeLlamaCpp(model, text, true, false);
    results.push({ids, vector: [...embedding.vector]});
  }
  return results;
}

// Embeddings per second over `texts`, one after another as the embedding
// context evaluates them (it holds one sequence). One warm-up pass, then the
// best of R (default 3).
async function cmdBenchEmbed(llama, opts) {
  const threads = requirePositive(opts, "threads");
  const repeat = requirePositive(opts, "repeat", 3);
  const texts = requireStringArray(await readStdinJson());
  if (texts.length === 0) throw new Error("no texts to embed");
  const {context} = await embeddingContextFor(llama, {...opts, threads}, texts);
  const runAll = async () => {
    const t0 = process.hrtime.bigint();
    for (const text of texts) await context.getEmbeddingFor(text);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  await runAll();
  let best = Infinity;
  for (let r = 0; r < repeat; r++) best = Math.min(best, await runAll());
  return {texts: texts.length, seconds: best, embeddings_per_s: texts.length / best, threads};
}

// A case's grammar: GBNF text through LlamaGrammar (llama.cpp's parser and
// sampler), or a JSON Schema through LlamaJsonSchemaGrammar (node-llama-cpp's
// own converter to GBNF).
async function grammarOf(llama, c, i) {
  if (typeof c?.grammar === "string") return llama.createGrammar({grammar: c.grammar});
  if (c?.json_schema !== undefined) {
    const schema = typeof c.json_schema === "string" ? JSON.parse(c.json_schema) : c.json_schema;
    return llama.createGrammarForJsonSchema(schema);
  }
  throw new Error(`case ${i} has neither "grammar" nor "json_schema"`);
}

function requireCase(c, i) {
  if (typeof c?.prompt !== "string") throw new Error(`case ${i} has no "prompt" string`);
  return c;
}

// Greedy tokens under the grammar, as llama.cpp samples them: the grammar
// sampler checks the chain's pick and masks only when it is refused
// (common_sampler_sample's order; node-llama-cpp's AddonSampler::sample).
// Stops after an end-of-generation token (included) or n tokens.
async function greedyUnderGrammar(sequence, model, promptIds, grammarState, n) {
  const ids = [];
  const options = {...GREEDY, grammarEvaluationState: grammarState, yieldEogToken: true};
  for await (const id of sequence.evaluate(promptIds, options)) {
    ids.push(id);
    if (model.isEogToken(id) || ids.length >= n) break;
  }
  return ids;
}

async function cmdGreedyGrammar(llama, opts) {
  const n = requirePositive(opts, "n");
  const input = await readStdinJson();
  if (!Array.isArray(input)) throw new Error("stdin must be a JSON array");
  const cases = input.map(requireCase);
  const model = await llama.loadModel({modelPath: opts.model});
  const prompts = cases.map((c) => tokenizeLikeLlamaCpp(model, c.prompt, true, true));
  const longest = Math.max(1, ...prompts.map((p) => p.length));
  const contextSize = opts.ctx ?? Math.min(model.trainContextSize, Math.max(2048, longest + n));
  if (longest + n > contextSize) throw new Error(`a prompt of ${longest} tokens plus --n ${n} exceeds --ctx ${contextSize}`);
  const context = await model.createContext({
    contextSize, sequences: 1, threads: opts.threads ?? 1, flashAttention: false,
  });
  const sequence = context.getSequence();
  const results = [];
  for (let i = 0; i < cases.length; i++) {
    await sequence.clearHistory();
    const grammar = await grammarOf(llama, cases[i], i);
    const state = new LlamaGrammarEvaluationState({model, grammar});
    const ids = await greedyUnderGrammar(sequence, model, prompts[i], state, n);
    const last = ids[ids.length - 1];
    results.push({
      prompt_ids: prompts[i],
      ids,
      end_eog: last !== undefined && model.isEogToken(last),
      text: model.detokenize(ids.filter((t) => !model.isEogToken(t)), true),
    });
  }
  return results;
}

// Decode speed with and without the grammar on the same prompt, greedy, n
// tokens at most (a grammar may end earlier: its tokens/s counts what it
// generated). Prompt evaluation is excluded from both. One warm-up, then
// the best of R (default 3) of each.
async function cmdBenchGrammar(llama, opts) {
  const threads = requirePositive(opts, "threads");
  const n = requirePositive(opts, "n");
  const repeat = requirePositive(opts, "repeat", 3);
  const c = requireCase(await readStdinJson(), 0);
  const model = await llama.loadModel({modelPath: opts.model});
  const promptIds = tokenizeLikeLlamaCpp(model, c.prompt, true, true);
  const context = await model.createContext({
    contextSize: Math.min(model.trainContextSize, Math.max(2048, promptIds.length + n + 1)),
    sequences: 1, threads, flashAttention: false,
  });
  const sequence = context.getSequence();
  const grammar = await grammarOf(llama, c, 0);
  // Prompt evaluation, then timed generation from its last token: the
  // prompt minus its last token is evaluated untimed first.
  const run = async (withGrammar) => {
    await sequence.clearHistory();
    await sequence.controlledEvaluate(promptIds.slice(0, -1));
    const state = withGrammar ? new LlamaGrammarEvaluationState({model, grammar}) : undefined;
    const t0 = process.hrtime.bigint();
    const ids = [];
    const options = {...GREEDY, grammarEvaluationState: state, yieldEogToken: true};
    for await (const id of sequence.evaluate(promptIds.slice(-1), options)) {
      ids.push(id);
      if ((withGrammar && model.isEogToken(id)) || ids.length >= n) break;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return {tokens: ids.length, seconds};
  };
  const best = async (withGrammar) => {
    await run(withGrammar);
    let top = null;
    for (let r = 0; r < repeat; r++) {
      const res = await run(withGrammar);
      if (top === null || res.tokens / res.seconds > top.tokens / top.seconds) top = res;
    }
    return top;
  };
  const free = await best(false);
  const constrained = await best(true);
  return {
    threads,
    unconstrained: {tokens: free.tokens, tokens_per_s: free.tokens / free.seconds},
    constrained: {tokens: constrained.tokens, tokens_per_s: constrained.tokens / constrained.seconds},
  };
}

async function main() {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`reference.mjs: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  const {sub, opts} = parsed;
  if (!fs.existsSync(opts.model)) {
    process.stderr.write(`reference.mjs: model file not found: ${opts.model}\n`);
    return 1;
  }
  const llama = await loadLlama(opts.threads ?? Math.max(1, os.availableParallelism()));
  try {
    const handlers = {
      "tokenize": cmdTokenize,
      "greedy": cmdGreedy,
      "bench-tokenize": cmdBenchTokenize,
      "bench-speed": cmdBenchSpeed,
      "greedy-grammar": cmdGreedyGrammar,
      "bench-grammar": cmdBenchGrammar,
      "embed": cmdEmbed,
      "bench-embed": cmdBenchEmbed,
    };
    const t0 = performance.now();
    const result = await handlers[sub](llama, opts);
    process.stderr.write(`reference.mjs: ${sub} done in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
    await writeJson(result);
    return 0;
  } catch (e) {
    const code = e instanceof UsageError ? 2 : 1;
    process.stderr.write(`reference.mjs: ${sub}: ${e.message}\n`);
    if (code === 2) process.stderr.write(`${USAGE}\n`);
    return code;
  } finally {
    await llama.dispose();
  }
}

// Exit explicitly: native handles could otherwise keep the process alive.
main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`reference.mjs: ${e?.stack ?? e}\n`);
    process.exit(1);
  },
);
