// Streamed tool calls parsed by openai-node. Needs a backend that does tools (the default
// embedded model); the test runner points OPENAI_BASE_URL at one.
import assert from "node:assert/strict";
import { test } from "node:test";
import { gatewayClient } from "../chat.mjs";
import { callWeatherTool } from "../tools.mjs";

test("a forced tool call arrives in fragments and the SDK parses it", async () => {
  const { message, finishReason, fragments } = await callWeatherTool(
    gatewayClient(),
    "What is the weather in Paris?",
  );
  assert.equal(finishReason, "tool_calls");
  assert.equal(message.tool_calls?.length, 1);
  const [call] = message.tool_calls;
  assert.equal(call.type, "function");
  assert.equal(call.function.name, "get_weather");
  assert.ok(fragments.length > 1, "the arguments were streamed in pieces");
  assert.equal(fragments.join(""), call.function.arguments);
  // Parsed (and validated by the tool's zod schema) by the SDK.
  const args = /** @type {{city: unknown, unit: unknown}} */ (call.function.parsed_arguments);
  assert.equal(typeof args.city, "string");
  assert.ok(["celsius", "fahrenheit"].includes(/** @type {string} */ (args.unit)));
});
