// A tool round trip with the Anthropic TypeScript SDK. Needs a backend that does tools
// (the default embedded model); the test runner points ANTHROPIC_BASE_URL at one. The
// events and bodies are checked against the SDK's declared types (anthropic-shapes.mjs).
import assert from "node:assert/strict";
import { test } from "node:test";
import { gatewayClient, textOf } from "../anthropic.mjs";
import { answerWithResult, callWeatherTool, getWeather } from "../anthropic-tools.mjs";
import { message, recordingFetch, streamEvents } from "./anthropic-shapes.mjs";

test("a forced tool_use streams its input in pieces; the tool_result brings the answer", async () => {
  const { fetch, exchanges } = recordingFetch();
  const client = gatewayClient({ fetch, maxRetries: 0 });
  const prompt = "What is the weather in Paris?";
  const { message: toolTurn, call, fragments } = await callWeatherTool(client, prompt);
  assert.equal(toolTurn.stop_reason, "tool_use");
  assert.ok(call, "a tool_use block");
  assert.equal(call.name, "get_weather");
  assert.match(call.id, /^toolu_/);
  const input = /** @type {{city: unknown, unit: unknown}} */ (call.input);
  assert.deepEqual(Object.keys(input).sort(), ["city", "unit"]);
  assert.equal(typeof input.city, "string");
  assert.ok(["celsius", "fahrenheit"].includes(String(input.unit)));
  assert.ok(fragments.length > 1, "the input was streamed in pieces");
  assert.deepEqual(JSON.parse(fragments.join("")), call.input);

  const events = streamEvents(await exchanges[0].text);
  const started = events.find((event) => event.type === "content_block_start");
  assert.deepEqual(started?.content_block, { type: "tool_use", id: call.id, name: "get_weather", input: {} });
  const deltas = events.filter((event) => event.type === "content_block_delta");
  assert.ok(deltas.every((event) => event.delta.type === "input_json_delta"));
  assert.equal(events.find((event) => event.type === "message_delta")?.delta.stop_reason, "tool_use");

  const answer = await answerWithResult(client, prompt, toolTurn, call, getWeather(/** @type {any} */ (input)));
  assert.equal(exchanges.length, 2);
  const sent = exchanges[1].body.messages;
  assert.deepEqual(sent[2].content[0], {
    type: "tool_result",
    tool_use_id: call.id,
    content: JSON.stringify(getWeather(/** @type {any} */ (input))),
  });
  message(JSON.parse(await exchanges[1].text), "body");
  // The answer: text, or (a small model's whim, with the tools still offered) another call.
  assert.ok(answer.content.length > 0);
  if (answer.stop_reason === "tool_use") assert.ok(answer.content.some((block) => block.type === "tool_use"));
  else assert.ok(textOf(answer).length > 0, String(answer.stop_reason));
});
