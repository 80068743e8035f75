// A tool round trip with the Anthropic TypeScript SDK: the model answers with a `tool_use`
// block for get_weather (its input streamed as `input_json_delta`s, joined by the SDK), the
// script runs the tool and sends a `tool_result` back for the final answer.
// Needs a backend that does tools: the default embedded model does (a forced `tool_choice`
// is grammar-constrained, so the input always matches the schema); the mock ignores tools.
//
//   ANTHROPIC_BASE_URL=http://localhost:8001 node anthropic-tools.mjs "What is the weather in Paris?"
import { pathToFileURL } from "node:url";
import { gatewayClient, model, textOf } from "./anthropic.mjs";

/** @typedef {import("@anthropic-ai/sdk").Anthropic} Anthropic */
/** @typedef {import("@anthropic-ai/sdk/resources/messages").Message} Message */
/** @typedef {import("@anthropic-ai/sdk/resources/messages").MessageParam} MessageParam */
/** @typedef {import("@anthropic-ai/sdk/resources/messages").ToolUseBlock} ToolUseBlock */

/** @type {import("@anthropic-ai/sdk/resources/messages").Tool} */
export const weatherTool = {
  name: "get_weather",
  description: "The current weather in a city.",
  input_schema: {
    type: "object",
    properties: {
      city: { type: "string", description: "The city, e.g. Paris" },
      unit: { type: "string", enum: ["celsius", "fahrenheit"] },
    },
    required: ["city", "unit"],
    additionalProperties: false,
  },
};

/** Stands in for a real weather service. @param {{city: string, unit: string}} input */
export const getWeather = ({ city, unit }) => ({ city, unit, temperature: unit === "celsius" ? 21 : 70 });

/**
 * Asks with get_weather forced, streaming: the SDK joins the input's JSON fragments into
 * the `tool_use` block's `input`.
 * @param {Anthropic} client
 * @param {string} prompt
 */
export async function callWeatherTool(client, prompt) {
  /** @type {string[]} */
  const fragments = [];
  const message = await client.messages
    .stream({
      model,
      max_tokens: 60,
      messages: [{ role: "user", content: prompt }],
      tools: [weatherTool],
      // Force this tool ({ type: "auto" } lets the model answer in text instead).
      tool_choice: { type: "tool", name: "get_weather" },
    })
    .on("inputJson", (partial) => fragments.push(partial))
    .finalMessage();
  const call = message.content.find((block) => block.type === "tool_use");
  return { message, call, fragments };
}

/**
 * The answer once the tool has run: the whole conversation, with the model's turn as the
 * SDK returned it and the result tied to the call by its id.
 * @param {Anthropic} client
 * @param {string} prompt
 * @param {Message} toolTurn
 * @param {ToolUseBlock} call
 * @param {unknown} result
 */
export async function answerWithResult(client, prompt, toolTurn, call, result) {
  /** @type {MessageParam[]} */
  const messages = [
    { role: "user", content: prompt },
    { role: "assistant", content: toolTurn.content },
    { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: JSON.stringify(result) }] },
  ];
  return client.messages.create({ model, max_tokens: 60, messages, tools: [weatherTool] });
}

async function main() {
  const client = gatewayClient();
  const prompt = process.argv[2] ?? "What is the weather in Paris?";
  const { message, call } = await callWeatherTool(client, prompt);
  if (!call) throw new Error(`no tool_use block in the answer (${message.stop_reason})`);
  console.log(`tool call: ${call.name}(${JSON.stringify(call.input)}) [${message.stop_reason}]`);
  const input = /** @type {{city: string, unit: string}} */ (call.input);
  const answer = await answerWithResult(client, prompt, message, call, getWeather(input));
  // A small model may ask for the tool again rather than answer.
  console.log(textOf(answer) || `[${answer.stop_reason}] ${JSON.stringify(answer.content)}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
