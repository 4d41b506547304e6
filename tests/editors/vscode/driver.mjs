// Drives the JSON engine VS Code runs (vscode-json-languageservice) and Ajv for Python.
//
// One JSON request per line on stdin, one JSON answer per line on stdout:
//   {"op": "complete" | "hover" | "validate", "uri": "file:///...", "text": "...",
//    "line": 0, "character": 0, "repeat": 1}
//   {"op": "ajv", "schema": "/path/schema.json"}
// Answers carry "result" (LSP shapes: CompletionList, Hover, Diagnostic[]), "ms" (the
// median time of `repeat` runs, measured here so process start-up and the pipe do not
// count) or "error" (a message, e.g. the engine's own RangeError).
//
// The schema comes from the document's "$schema" (resolved against its URI, as VS Code
// does) or, failing that, from the "--schema FILE" given at start for every document.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import { createRequire } from "node:module";

// The npm packages live in a shared cache directory (tests/editors/vscode_engine.py).
const packages = process.env.RUNTARA_NODE_PACKAGES;
const require = createRequire(packages ? pathToFileURL(`${packages}/package.json`) : import.meta.url);
const { getLanguageService, TextDocument } = require("vscode-json-languageservice");
const Ajv2020 = require("ajv/dist/2020").default;
const AjvDraft07 = require("ajv").default;

/** Keywords VS Code reads beside standard JSON Schema (they annotate; they never validate). */
export const EDITOR_KEYWORDS = [
  "markdownDescription",
  "enumDescriptions",
  "markdownEnumDescriptions",
  "defaultSnippets",
  "deprecationMessage",
  "errorMessage",
  "doNotSuggest",
  "suggestSortText",
  "allowComments",
  "allowTrailingCommas",
];

const args = process.argv.slice(2);
const schemaIndex = args.indexOf("--schema");
const defaultSchema = schemaIndex >= 0 ? pathToFileURL(args[schemaIndex + 1]).href : null;

const service = getLanguageService({
  schemaRequestService: async (uri) => readFileSync(fileURLToPath(uri), "utf8"),
  workspaceContext: { resolveRelativePath: (relative, resource) => new URL(relative, resource).href },
});
service.configure({
  validate: true,
  allowComments: false,
  schemas: defaultSchema ? [{ uri: defaultSchema, fileMatch: ["*.json"] }] : [],
});

async function timed(repeat, run) {
  const times = [];
  let result;
  for (let i = 0; i < Math.max(1, repeat); i++) {
    const start = performance.now();
    result = await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { result, ms: times[Math.floor(times.length / 2)] };
}

function ajvCheck(path) {
  const schema = JSON.parse(readFileSync(path, "utf8"));
  const draft07 = schema.$schema === "http://json-schema.org/draft-07/schema#";
  const Ajv = draft07 ? AjvDraft07 : Ajv2020;
  const complaints = [];
  const ajv = new Ajv({
    strict: "log", // every strict-mode complaint is collected (as "true" would refuse), not just the first
    allErrors: true,
    logger: { log() {}, warn: (...m) => complaints.push(m.join(" ")), error: (...m) => complaints.push(m.join(" ")) },
  });
  ajv.addVocabulary(EDITOR_KEYWORDS);
  try {
    ajv.compile(schema);
  } catch (error) {
    complaints.push(String(error.message || error));
  }
  return { complaints, draft: draft07 ? "draft-07" : "2020-12" };
}

async function answer(request) {
  if (request.op === "ajv") {
    return { result: ajvCheck(request.schema) };
  }
  const document = TextDocument.create(request.uri, "json", 1, request.text);
  const position = { line: request.line ?? 0, character: request.character ?? 0 };
  const repeat = request.repeat ?? 1;
  if (request.op === "validate") {
    // What VS Code does after each edit: parse the new text, then validate it.
    return timed(repeat, () => service.doValidation(document, service.parseJSONDocument(document)));
  }
  const parsed = service.parseJSONDocument(document); // VS Code parses once per edit
  if (request.op === "complete") {
    return timed(repeat, () => service.doComplete(document, position, parsed));
  }
  if (request.op === "hover") {
    return timed(repeat, () => service.doHover(document, position, parsed));
  }
  throw new Error(`unknown op ${request.op}`);
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let request = {};
  let reply;
  try {
    request = JSON.parse(line);
    reply = await answer(request);
  } catch (error) {
    reply = { error: `${error.name}: ${error.message}` };
  }
  process.stdout.write(JSON.stringify({ id: request.id ?? null, ...reply }) + "\n");
}
