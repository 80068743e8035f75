// openai-node's Responses API with function tools and text.format: needs a backend that
// does them (the default embedded model; the mock ignores both). A forced tool_choice and
// a json_schema format are grammar-constrained, so what comes back always parses.
import assert from "node:assert/strict";
import { test } from "node:test";
import { zodResponsesFunction, zodTextFormat } from "openai/helpers/zod";
import { z } from "zod";
import { gatewayClient, model } from "../chat.mjs";

const client = gatewayClient();

const WeatherArgs = z.object({
  city: z.string().describe("The city, e.g. Paris"),
  unit: z.enum(["celsius", "fahrenheit"]),
});
// A strict function tool whose JSON schema comes from zod.
const weather = zodResponsesFunction({
  name: "get_weather",
  description: "The current weather in a city.",
  parameters: WeatherArgs,
});

test("a forced function call, streamed and parsed; its output continues the conversation", async () => {
  /** @type {string[]} */
  const fragments = [];
  /** @type {import("openai/resources/responses/responses").ResponseStreamEvent[]} */
  const events = [];
  const stream = client.responses
    .stream({
      model,
      input: "What is the weather in Paris?",
      tools: [weather],
      tool_choice: { type: "function", name: "get_weather" },
      max_output_tokens: 60,
      temperature: 0,
    })
    .on("event", (event) => events.push(event))
    .on("response.function_call_arguments.delta", (event) => fragments.push(event.delta));
  const first = await stream.finalResponse();
  assert.equal(first.status, "completed");
  assert.deepEqual(events.map((event) => event.type), [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    ...fragments.map(() => "response.function_call_arguments.delta"),
    "response.function_call_arguments.done",
    "response.output_item.done",
    "response.completed",
  ]);
  const numbers = events.map((event) => event.sequence_number);
  assert.ok(numbers.every((n, i) => i === 0 || n > numbers[i - 1]), `sequence numbers ${numbers}`);
  const calls = first.output.filter((item) => item.type === "function_call");
  assert.equal(calls.length, 1);
  const [call] = calls;
  assert.equal(call.name, "get_weather");
  assert.match(call.call_id, /\S/);
  assert.ok(fragments.length > 1, "the arguments were streamed in pieces");
  assert.equal(fragments.join(""), call.arguments);
  // The arguments parse and match the tool's schema. (openai-node 6.30 fills
  // `parsed_arguments` only when `text.format` is a zod format too, so parse them here.)
  const args = WeatherArgs.parse(JSON.parse(call.arguments));

  // The tool's result, sent back with previous_response_id: the gateway has the call.
  const output = JSON.stringify({ ...args, temperature: 21, sky: "clear" });
  const second = await client.responses.create({
    model,
    previous_response_id: first.id,
    input: [{ type: "function_call_output", call_id: call.call_id, output }],
    max_output_tokens: 16,
    temperature: 0,
  });
  // `incomplete` when the answer reaches max_output_tokens (kept low: it is slow on a CPU).
  assert.ok(second.status === "completed" || second.status === "incomplete", second.status);
  assert.equal(second.previous_response_id, first.id);
  assert.deepEqual(second.output.map((item) => item.type), ["message"]);
  assert.ok(second.output_text.length > 0);
  const items = await client.responses.inputItems.list(second.id);
  assert.deepEqual(
    items.data.map((item) => item.type === "function_call_output" && [item.call_id, item.output]),
    [[call.call_id, output]],
  );
});

test("text.format json_schema: the output parses and matches the schema", async () => {
  const Capital = z.object({ capital: z.string(), population: z.number() });
  const response = await client.responses.parse({
    model,
    input: "The capital of France and its population, as JSON.",
    text: { format: zodTextFormat(Capital, "capital") },
    max_output_tokens: 80,
    temperature: 0,
  });
  assert.equal(response.status, "completed", "not cut by max_output_tokens");
  const format = response.text?.format;
  assert.equal(format?.type, "json_schema");
  assert.ok(format?.type === "json_schema" && format.name === "capital");
  const parsed = Capital.parse(JSON.parse(response.output_text));
  assert.deepEqual(response.output_parsed, parsed);
});
