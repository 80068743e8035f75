// What the gateway's Messages API sends, checked against the response types of the pinned
// @anthropic-ai/sdk (node_modules/@anthropic-ai/sdk/resources/messages/messages.d.ts and
// resources/shared.d.ts). The TypeScript SDK has no runtime validators, so the field sets of
// those interfaces are written out here: every field the gateway sends must be one the type
// declares, with the declared JSON type, and every declared field must be sent unless it is
// listed in `absent`. (The Python tests check the same bodies with the Python SDK's own
// pydantic types; this keeps the TypeScript declarations honest too.)
//
// `absent`: fields the gateway leaves out. All of them are typed `X | null` in the .d.ts
// (the Python SDK's types default them to None) except ToolUseBlock.caller, which the .d.ts
// declares always present (a `DirectCaller`, `{type: "direct"}`, for a client's tool) and the
// Python SDK as `Optional[Caller] = None`. A TypeScript client reads each of them as
// `undefined`, not `null`. If the gateway starts to send one, this check fails until its
// shape is written here.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

/** @typedef {(value: unknown, path: string) => void} Check */

/** @param {string} what @param {(value: unknown) => boolean} test @returns {Check} */
const kind = (what, test) => (value, path) =>
  assert.ok(test(value), `${path}: ${JSON.stringify(value)} is not ${what}`);

const string = kind("a string", (v) => typeof v === "string");
const number = kind("a number", (v) => typeof v === "number");
/** `input: unknown` in the .d.ts; a JSON object on the wire (the tool's arguments). */
const object = kind("an object", (v) => typeof v === "object" && v !== null && !Array.isArray(v));

/** @param {...unknown} values @returns {Check} */
const oneOf = (...values) => kind(`one of ${JSON.stringify(values)}`, (v) => values.includes(v));

/** @param {Check} check @returns {Check} */
const nullable = (check) => (value, path) => {
  if (value !== null) check(value, path);
};

/** @param {Check} check @returns {Check} */
const arrayOf = (check) => (value, path) => {
  assert.ok(Array.isArray(value), `${path}: not an array`);
  value.forEach((item, index) => check(item, `${path}[${index}]`));
};

/** A field the gateway does not send: its shape is not written here. @type {Check} */
const notSent = (value, path) =>
  assert.fail(`${path}: the gateway sends it now (${JSON.stringify(value)}): add its shape`);

/**
 * One interface of the .d.ts: its fields, each with its check.
 * @param {string} name
 * @param {Record<string, Check>} fields
 * @param {{absent?: string[], optional?: string[]}} [options] `optional`: `field?:` in the .d.ts
 * @returns {Check}
 */
function shape(name, fields, { absent = [], optional = [] } = {}) {
  return (value, path) => {
    object(value, path);
    const record = /** @type {Record<string, unknown>} */ (value);
    for (const [key, item] of Object.entries(record)) {
      assert.ok(key in fields, `${path}.${key}: not a field of ${name}`);
      fields[key](item, `${path}.${key}`);
    }
    for (const key of Object.keys(fields)) {
      if (absent.includes(key) || optional.includes(key)) continue;
      assert.ok(key in record, `${path}.${key}: ${name} declares it, the gateway did not send it`);
    }
  };
}

/**
 * A union of interfaces told apart by their `type`.
 * @param {string} name
 * @param {Record<string, Check>} variants
 * @returns {Check}
 */
function union(name, variants) {
  return (value, path) => {
    object(value, path);
    const type = String(/** @type {{type?: unknown}} */ (value).type);
    assert.ok(type in variants, `${path}.type: "${type}" is none of ${name}'s (${Object.keys(variants)})`);
    variants[type](value, path);
  };
}

// StopReason
const stopReason = oneOf(
  "end_turn",
  "max_tokens",
  "stop_sequence",
  "tool_use",
  "pause_turn",
  "refusal",
  "model_context_window_exceeded",
);

const textBlock = shape(
  "TextBlock",
  { citations: notSent, text: string, type: oneOf("text") },
  { absent: ["citations"] },
);

const toolUseBlock = shape(
  "ToolUseBlock",
  { id: string, caller: notSent, input: object, name: string, type: oneOf("tool_use"), toolset_name: notSent },
  { absent: ["caller"], optional: ["toolset_name"] },
);

// ContentBlock: the gateway's models make text and client tool calls, nothing else.
const contentBlock = union("ContentBlock", { text: textBlock, tool_use: toolUseBlock });

const usage = shape(
  "Usage",
  {
    cache_creation: notSent,
    cache_creation_input_tokens: nullable(number),
    cache_read_input_tokens: nullable(number),
    inference_geo: notSent,
    input_tokens: number,
    output_tokens: number,
    output_tokens_details: notSent,
    server_tool_use: notSent,
    service_tier: notSent,
    speed: notSent,
  },
  { absent: ["cache_creation", "inference_geo", "output_tokens_details", "server_tool_use", "service_tier", "speed"] },
);

/** Message (also inside `message_start`). */
export const message = shape(
  "Message",
  {
    id: string,
    container: notSent,
    content: arrayOf(contentBlock),
    diagnostics: notSent,
    model: string,
    role: oneOf("assistant"),
    stop_details: nullable(notSent), // RefusalStopDetails | null: null, the models here do not refuse
    stop_reason: nullable(stopReason),
    stop_sequence: nullable(string),
    type: oneOf("message"),
    usage,
  },
  { absent: ["container", "diagnostics"] },
);

const messageDeltaUsage = shape(
  "MessageDeltaUsage",
  {
    cache_creation_input_tokens: nullable(number),
    cache_read_input_tokens: nullable(number),
    input_tokens: nullable(number),
    output_tokens: number,
    output_tokens_details: notSent,
    server_tool_use: notSent,
  },
  { absent: ["output_tokens_details", "server_tool_use"] },
);

/** RawMessageStreamEvent, by its `type`. */
export const streamEvent = union("RawMessageStreamEvent", {
  message_start: shape("RawMessageStartEvent", { message, type: oneOf("message_start") }),
  content_block_start: shape("RawContentBlockStartEvent", {
    content_block: contentBlock,
    index: number,
    type: oneOf("content_block_start"),
  }),
  content_block_delta: shape("RawContentBlockDeltaEvent", {
    // RawContentBlockDelta: text and tool input only (no citations, thinking, signatures).
    delta: union("RawContentBlockDelta", {
      text_delta: shape("TextDelta", { text: string, type: oneOf("text_delta") }),
      input_json_delta: shape("InputJSONDelta", { partial_json: string, type: oneOf("input_json_delta") }),
    }),
    index: number,
    type: oneOf("content_block_delta"),
  }),
  content_block_stop: shape("RawContentBlockStopEvent", { index: number, type: oneOf("content_block_stop") }),
  message_delta: shape("RawMessageDeltaEvent", {
    delta: shape(
      "RawMessageDeltaEvent.Delta",
      {
        container: notSent,
        stop_details: nullable(notSent),
        stop_reason: nullable(stopReason),
        stop_sequence: nullable(string),
      },
      { absent: ["container"] },
    ),
    type: oneOf("message_delta"),
    usage: messageDeltaUsage,
  }),
  message_stop: shape("RawMessageStopEvent", { type: oneOf("message_stop") }),
});

/** MessageTokensCount (count_tokens). */
export const tokensCount = shape("MessageTokensCount", { input_tokens: number });

/** ErrorResponse (resources/shared.d.ts); ErrorObject is a union of nine `{message, type}`. */
export const errorResponse = shape(
  "ErrorResponse",
  {
    error: shape("ErrorObject", {
      message: string,
      type: oneOf(
        "invalid_request_error",
        "authentication_error",
        "billing_error",
        "permission_error",
        "not_found_error",
        "rate_limit_error",
        "timeout_error",
        "api_error",
        "overloaded_error",
      ),
    }),
    request_id: nullable(string),
    type: oneOf("error"),
  },
  { absent: ["request_id"] },
);

/**
 * The frames of a Messages stream, `event: NAME\ndata: JSON\n\n`, each checked: the name is
 * the payload's `type`, and the payload is a RawMessageStreamEvent (or the `ping` the SDKs
 * skip). The events, without pings.
 * @param {string} text
 */
export function streamEvents(text) {
  assert.ok(text.endsWith("\n\n"), `the stream ends mid-event: ${text.slice(-200)}`);
  /** @type {{type: string, [key: string]: any}[]} */
  const events = [];
  for (const frame of text.slice(0, -2).split("\n\n")) {
    const match = /^event: (\S+)\ndata: (.*)$/.exec(frame);
    assert.ok(match, `not one event and one data line: ${frame}`);
    const [, name, data] = match;
    const payload = JSON.parse(data);
    assert.equal(payload.type, name, frame);
    if (name === "ping") {
      assert.deepEqual(payload, { type: "ping" });
      continue;
    }
    streamEvent(payload, name);
    events.push(payload);
  }
  return events;
}

/**
 * @typedef {object} Exchange one request and its response
 * @property {string} url
 * @property {Headers} sent the request's headers
 * @property {any} body the request's JSON body
 * @property {number} status
 * @property {Headers} headers the response's headers
 * @property {Promise<string>} text the response's body
 */

/**
 * A `fetch` that keeps the text of every response it returns (read from a clone, so the
 * client still streams its own copy), to check the raw JSON the SDK was given. With
 * ANTHROPIC_RESPONSES_DIR set (by the pytest runner), each response's text is also written
 * there, `<endpoint>-<status>-<id>.json` or `.sse`, for the Python SDK's types to check.
 * @returns {{fetch: typeof fetch, exchanges: Exchange[]}}
 */
export function recordingFetch() {
  /** @type {Exchange[]} */
  const exchanges = [];
  /** @type {typeof fetch} */
  const recording = async (url, init) => {
    const response = await fetch(url, init);
    const text = response.clone().text();
    const dir = process.env.ANTHROPIC_RESPONSES_DIR;
    if (dir) {
      const endpoint = new URL(String(url)).pathname.split("/").at(-1);
      const sse = response.headers.get("content-type")?.startsWith("text/event-stream");
      const name = `${endpoint}-${response.status}-${randomUUID()}.${sse ? "sse" : "json"}`;
      // Not awaited: the client must get the response while it still streams.
      void text.then((body) => writeFile(join(dir, name), body));
    }
    exchanges.push({
      url: String(url),
      sent: new Headers(init?.headers),
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
      status: response.status,
      text,
      headers: response.headers,
    });
    return response;
  };
  return { fetch: recording, exchanges };
}
